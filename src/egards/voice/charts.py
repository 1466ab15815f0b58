"""Charts of the root-cause dashboard as inline SVG: drawn on the server from the report's
numbers (no script, nothing for the Content-Security-Policy to allow), readable without
colour (each bar carries its number) and in the reader's language (labels come translated).

Every text is escaped here; the templates insert the result with ``|safe``.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

PALETTE = ("#2f6db3", "#c0392b", "#27ae60", "#8e44ad", "#d68910", "#16a085", "#7f8c8d")
NEGATIVE = "#c0392b"
NEUTRAL = "#9bb7d4"
THREAT = "#7b241c"


def _svg(width: int, height: int, title: str, body: list[str]) -> str:
    label = escape(title, quote=True)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-label="{label}"'
        f' viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMinYMin meet">'
        f"<title>{escape(title)}</title>" + "".join(body) + "</svg>"
    )


def topic_bars(
    rows: Sequence[tuple[str, int, int, int]],
    *,
    title: str,
    legend: tuple[str, str, str],
) -> str:
    """One horizontal bar per topic: its messages, the negative ones in red, and the number
    of churn threats in a dark mark at its end. ``rows``: (label, messages, negative,
    threats); ``legend``: the words for messages, negative, churn threats."""
    shown = [r for r in rows if r[1] > 0] or list(rows[:1])
    left, bar, gap, right = 190, 16, 8, 70
    width = 720
    height = 34 + len(shown) * (bar + gap)
    peak = max((r[1] for r in shown), default=0) or 1
    scale = (width - left - right) / peak
    body = [
        f'<rect x="{left}" y="6" width="12" height="10" fill="{NEUTRAL}"/>'
        f'<text x="{left + 16}" y="15" font-size="11">{escape(legend[0])}</text>'
        f'<rect x="{left + 150}" y="6" width="12" height="10" fill="{NEGATIVE}"/>'
        f'<text x="{left + 166}" y="15" font-size="11">{escape(legend[1])}</text>'
        f'<rect x="{left + 300}" y="6" width="12" height="10" fill="{THREAT}"/>'
        f'<text x="{left + 316}" y="15" font-size="11">{escape(legend[2])}</text>'
    ]
    for index, (label, messages, negative, threats) in enumerate(shown):
        y = 28 + index * (bar + gap)
        total = messages * scale
        body.append(
            f'<text x="{left - 6}" y="{y + bar - 4}" font-size="12" text-anchor="end">'
            f"{escape(label)}</text>"
            f'<rect x="{left}" y="{y}" width="{total:.1f}" height="{bar}" fill="{NEUTRAL}">'
            f"<title>{escape(label)}: {messages}</title></rect>"
            f'<rect x="{left}" y="{y}" width="{negative * scale:.1f}" height="{bar}"'
            f' fill="{NEGATIVE}"><title>{escape(legend[1])}: {negative}</title></rect>'
        )
        if threats:
            body.append(
                f'<rect x="{left + total - 4:.1f}" y="{y - 2}" width="4" height="{bar + 4}"'
                f' fill="{THREAT}"><title>{escape(legend[2])}: {threats}</title></rect>'
            )
        figures = f"{messages}" + (f" · {threats}⚠" if threats else "")
        body.append(
            f'<text x="{left + total + 6:.1f}" y="{y + bar - 4}" font-size="11">'
            f"{escape(figures)}</text>"
        )
    return _svg(width, height, title, body)


def monthly_lines(
    months: Sequence[str], series: Sequence[tuple[str, Sequence[int]]], *, title: str
) -> str:
    """Volume by month, one line per topic (the busiest ones), with a legend."""
    width, height, left, bottom, top = 720, 240, 40, 40, 14
    right = 150
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((v for _, values in series for v in values), default=0) or 1
    step = plot_w / max(len(months) - 1, 1)
    body = [
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}"'
        ' stroke="#888"/>',
        f'<text x="{left - 6}" y="{top + 4}" font-size="10" text-anchor="end">{peak}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" font-size="10" text-anchor="end">0</text>',
    ]
    for index, month in enumerate(months):
        if len(months) <= 12 or index % 2 == 0:
            x = left + index * step
            body.append(
                f'<text x="{x:.1f}" y="{top + plot_h + 16}" font-size="10"'
                f' text-anchor="middle">{escape(month[2:])}</text>'
            )
    for number, (label, values) in enumerate(series):
        colour = PALETTE[number % len(PALETTE)]
        points = " ".join(
            f"{left + i * step:.1f},{top + plot_h - v * plot_h / peak:.1f}"
            for i, v in enumerate(values)
        )
        body.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}">'
            f"<title>{escape(label)}</title></polyline>"
        )
        y = top + 10 + number * 16
        body.append(
            f'<rect x="{left + plot_w + 12}" y="{y - 9}" width="12" height="10"'
            f' fill="{colour}"/><text x="{left + plot_w + 28}" y="{y}" font-size="11">'
            f"{escape(label)}</text>"
        )
    return _svg(width, height, title, body)
