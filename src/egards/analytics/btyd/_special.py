"""Special functions evaluated in log space, with derivatives where the fitters need them.

The one non-trivial piece is ``2F1(1, d; c; z)`` for ``c > d > 0`` and ``0 <= z < 1``. Every
hypergeometric term of the Pareto/NBD likelihood (and the sBG residual lifetime) can be brought
to this form with Euler's transformation, where the function is bounded by ``1 / (1 - z)`` and
cannot overflow whatever the number of purchases. It is evaluated with Gauss's continued
fraction evaluated by backward recurrence; differentiating the recurrence gives exact
derivatives with respect to ``d``, ``c`` and ``z`` for the analytic gradient.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "LogHyp2f1",
    "expm1_ratio",
    "log1mexp",
    "log_hyp2f1_one",
]

_MAX_DEPTH = 40_000
# Beyond this depth (z within about 1e-5 of 1, which extreme alpha / beta produce) the fraction
# costs seconds and, capped at _MAX_DEPTH, loses accuracy; SciPy's hyp2f1 (connection formulas
# around z = 1) is then both faster and right.
_SCIPY_DEPTH = 2048
# Up to this many elements, a fraction is evaluated element by element in plain floats.
_SCALAR_ELEMENTS = 32


@dataclass(frozen=True, slots=True)
class LogHyp2f1:
    """``log 2F1(1, d; c; z)`` and its partial derivatives, element-wise."""

    value: np.ndarray
    d_d: np.ndarray
    d_c: np.ndarray
    d_z: np.ndarray


def _depth_for(z: np.ndarray) -> np.ndarray:
    # The fraction converges geometrically with a ratio close to
    # ((1 - sqrt(1 - z)) / (1 + sqrt(1 - z)))**2 per two steps; 36 nats of margin plus a floor
    # of 8 steps (against 24 before: the same values to 1e-15 over 200,000 random points).
    root = np.sqrt(np.clip(1.0 - z, 1e-18, 1.0))
    rho = np.clip((1.0 - root) / (1.0 + root), 1e-300, 1.0 - 1e-16)
    steps = 2.0 * 36.0 / -np.log(rho) + 8.0
    return np.minimum(np.ceil(steps), _MAX_DEPTH).astype(np.int64)


def _cf_block(
    d: np.ndarray, c: np.ndarray, z: np.ndarray, depth: int, with_derivatives: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    # Each step sets f = 1 + k z / f, with k from d, c and the step number; this loop is where
    # the Pareto/NBD fit spends its time, so it works in place on preallocated arrays, with
    # one division per step for k's denominator and one for 1 / f.
    f = np.ones_like(z)
    fd = np.zeros_like(z)
    fc = np.zeros_like(z)
    fz = np.zeros_like(z)
    k, dk_dd, dk_dc, lo, hi, inv, tmp = (np.empty_like(z) for _ in range(7))
    for j in range(depth, 0, -1):
        if j % 2:  # j = 2n + 1: k = -(c - 1 + n)(d + n) / ((c + 2n - 1)(c + 2n))
            n = (j - 1) // 2
            if n == 0:  # -(c - 1) d / ((c - 1) c), without the 0 / 0 at c = 1
                np.divide(-1.0, c, out=dk_dd)
                np.multiply(d, dk_dd, out=k)
                if with_derivatives:
                    np.multiply(k, dk_dd, out=dk_dc)  # d / c**2
            else:
                np.add(c, 2 * n - 1.0, out=lo)
                np.add(lo, 1.0, out=hi)
                np.multiply(lo, hi, out=inv)
                np.divide(-1.0, inv, out=inv)  # -1 / rs
                np.add(c, n - 1.0, out=tmp)  # p
                np.multiply(tmp, inv, out=dk_dd)  # -p / rs
                np.add(d, float(n), out=tmp)  # q
                np.multiply(dk_dd, tmp, out=k)  # -p q / rs
                if with_derivatives:
                    # dk/dc = -q / rs - k (1 / lo + 1 / hi) = (-1 / rs)(q + k (lo + hi))
                    np.add(lo, hi, out=lo)
                    np.multiply(k, lo, out=lo)
                    np.add(tmp, lo, out=tmp)
                    np.multiply(tmp, inv, out=dk_dc)
        else:  # j = 2n: k = (d - c + 1 - n) n / ((c + 2n - 2)(c + 2n - 1))
            n = j // 2
            np.add(c, 2 * n - 2.0, out=lo)
            np.add(lo, 1.0, out=hi)
            np.multiply(lo, hi, out=inv)
            np.divide(float(n), inv, out=inv)  # n / vw
            np.subtract(d, c, out=tmp)
            np.add(tmp, 1.0 - n, out=tmp)  # u
            np.multiply(tmp, inv, out=k)
            if with_derivatives:
                dk_dd[...] = inv
                # dk/dc = -n / vw - k (1 / lo + 1 / hi) = -(n / vw)(1 + u (lo + hi) / n)
                np.add(lo, hi, out=lo)
                np.multiply(k, lo, out=lo)
                np.multiply(lo, 1.0 / n, out=lo)
                np.add(lo, 1.0, out=lo)
                np.multiply(lo, inv, out=dk_dc)
                np.negative(dk_dc, out=dk_dc)
        g = np.multiply(k, z, out=lo)
        np.divide(1.0, f, out=inv)
        if with_derivatives:
            # With r = g / f_prev: f_d' = (z k_d' - r f_d) / f_prev, likewise for c, and
            # f_z' = (k - r f_z) / f_prev.
            ratio = np.multiply(g, inv, out=hi)
            for derivative, dk in ((fd, dk_dd), (fc, dk_dc)):
                np.multiply(ratio, derivative, out=derivative)
                np.multiply(dk, z, out=dk)
                np.subtract(dk, derivative, out=derivative)
                np.multiply(derivative, inv, out=derivative)
            np.multiply(ratio, fz, out=fz)
            np.subtract(k, fz, out=fz)
            np.multiply(fz, inv, out=fz)
        np.multiply(g, inv, out=f)
        np.add(f, 1.0, out=f)
    return f, fd, fc, fz


def _cf_scalar(d: float, c: float, z: float, depth: int) -> tuple[float, float, float, float]:
    """:func:`_cf_block` for one element in plain floats, with derivatives: the same steps in
    the same order. A NumPy call on a one-element array costs about a microsecond whatever it
    does, and a step makes some thirty of them; deep fractions for a handful of elements
    (extreme parameters) are about ten times faster this way."""
    f, fd, fc, fz = 1.0, 0.0, 0.0, 0.0
    for j in range(depth, 0, -1):
        if j % 2:
            n = (j - 1) // 2
            if n == 0:
                dk_dd = -1.0 / c
                k = d * dk_dd
                dk_dc = k * dk_dd
            else:
                lo = c + (2 * n - 1.0)
                hi = lo + 1.0
                inv = -1.0 / (lo * hi)
                dk_dd = (c + (n - 1.0)) * inv
                q = d + float(n)
                k = dk_dd * q
                dk_dc = (q + k * (lo + hi)) * inv
        else:
            n = j // 2
            lo = c + (2 * n - 2.0)
            hi = lo + 1.0
            inv = float(n) / (lo * hi)
            k = ((d - c) + (1.0 - n)) * inv
            dk_dd = inv
            dk_dc = -((k * (lo + hi)) * (1.0 / n) + 1.0) * inv
        g = k * z
        inv_f = 1.0 / f
        ratio = g * inv_f
        fd = (dk_dd * z - ratio * fd) * inv_f
        fc = (dk_dc * z - ratio * fc) * inv_f
        fz = (k - ratio * fz) * inv_f
        f = ratio + 1.0
    return f, fd, fc, fz


def _cf(
    d: np.ndarray, c: np.ndarray, z: np.ndarray, depth: int, with_derivatives: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The fraction over an array, element by element in plain floats when there are only a
    few elements (see :func:`_cf_scalar`)."""
    if d.size > _SCALAR_ELEMENTS:
        return _cf_block(d, c, z, depth, with_derivatives)
    columns = np.array(
        [_cf_scalar(float(a), float(b), float(x), depth) for a, b, x in zip(d, c, z, strict=True)]
    ).reshape(d.size, 4)
    return columns[:, 0], columns[:, 1], columns[:, 2], columns[:, 3]


def log_hyp2f1_one(d, c, z, *, derivatives: bool = False) -> LogHyp2f1:
    """``log 2F1(1, d; c; z)`` for ``c > d > 0`` and ``0 <= z < 1``, element-wise.

    Uses Gauss's continued fraction for ``2F1(a + 1, b; c + 1; z) / 2F1(a, b; c; z)`` with
    ``a = 0`` (DLMF 15.7.5). The depth is chosen per element from ``z`` and elements are
    evaluated in groups of similar depth, so a few customers near ``z = 1`` do not slow the rest.
    """
    d, c, z = np.broadcast_arrays(
        np.asarray(d, dtype=float), np.asarray(c, dtype=float), np.asarray(z, dtype=float)
    )
    shape = d.shape
    d, c, z = d.ravel(), c.ravel(), np.clip(z.ravel(), 0.0, 1.0 - 1e-16)
    value = np.empty_like(z)
    d_d = np.zeros_like(z)
    d_c = np.zeros_like(z)
    d_z = np.zeros_like(z)
    # Where d is more than half of c the fraction needs about c steps before it settles; Pfaff's
    # transformation 2F1(1, d; c; z) = (1 - z)**-1 2F1(1, c - d; c; z / (z - 1)) swaps d for
    # c - d, and on the negative axis every step of the fraction adds a positive number.
    pfaff = d > 0.5 * c
    dd = np.where(pfaff, c - d, d)
    one_minus_z = 1.0 - z
    zz = np.where(pfaff, -z / one_minus_z, z)
    depth = _depth_for(z)
    near_one = depth > _SCIPY_DEPTH
    near = np.flatnonzero(near_one)
    usable = np.zeros(near.size, dtype=bool)
    near_value = near_dd = near_dc = near_dz = np.zeros(near.size)
    if near.size:
        near_value, near_dd, near_dc, near_dz = _near_one(d[near], c[near], z[near], derivatives)
        usable = np.isfinite(near_value)
        depth[near[usable]] = 0  # done here
        # Where SciPy gives up (huge d and c, as when r and alpha run away together) the
        # z-based depth is far too pessimistic: deepen the fraction until it stops changing.
        hard = near[~usable]
        level, previous = 256, None
        while hard.size and level <= _MAX_DEPTH:
            f, fd, fc, fz = _cf(dd[hard], c[hard], zz[hard], level, derivatives)
            settled = (
                np.abs(f - previous) <= 1e-14 * np.abs(f)
                if previous is not None
                else np.zeros(hard.size, dtype=bool)
            )
            if level * 2 > _MAX_DEPTH:
                settled[:] = True
            done = hard[settled]
            value[done] = -np.log(f[settled])
            if derivatives:
                d_d[done] = -fd[settled] / f[settled]
                d_c[done] = -fc[settled] / f[settled]
                d_z[done] = -fz[settled] / f[settled]
            depth[done] = 0
            hard, previous, level = hard[~settled], f[~settled], level * 2
    # Group similar depths so that there are few groups: multiples of 8 up to 256 (where most
    # customers are, and rounding up to a power of two would nearly double the work), then
    # powers of two.
    bucket = np.where(
        depth <= 256,
        8 * -(-depth // 8),
        np.left_shift(1, np.ceil(np.log2(np.maximum(depth, 1))).astype(np.int64)),
    )
    for level in np.unique(bucket[depth > 0]):
        idx = np.flatnonzero((bucket == level) & (depth > 0))
        f, fd, fc, fz = _cf(dd[idx], c[idx], zz[idx], int(min(level, _MAX_DEPTH)), derivatives)
        value[idx] = -np.log(f)
        if derivatives:
            d_d[idx] = -fd / f
            d_c[idx] = -fc / f
            d_z[idx] = -fz / f
    value = np.where(pfaff, value - np.log(one_minus_z), value)
    if derivatives:
        d_c = np.where(pfaff, d_c + d_d, d_c)
        d_d = np.where(pfaff, -d_d, d_d)
        d_z = np.where(pfaff, 1.0 / one_minus_z - d_z / one_minus_z**2, d_z)
    if near.size:
        done = near[usable]
        value[done] = near_value[usable]
        if derivatives:
            d_d[done], d_c[done], d_z[done] = near_dd[usable], near_dc[usable], near_dz[usable]
    return LogHyp2f1(
        value.reshape(shape), d_d.reshape(shape), d_c.reshape(shape), d_z.reshape(shape)
    )


def _near_one(d, c, z, derivatives: bool):
    """log 2F1(1, d; c; z) near z = 1 from SciPy, with derivatives: analytic in z
    (d/dz 2F1(1, d; c; z) = d / c 2F1(2, d + 1; c + 1; z)), central differences in d and c."""
    from scipy.special import hyp2f1

    with np.errstate(all="ignore"):
        base = hyp2f1(1.0, d, c, z)
        value = np.log(base)
        if not derivatives:
            zeros = np.zeros_like(z)
            return value, zeros, zeros, zeros
        step = np.minimum(1e-6 * np.maximum(1.0, np.abs(d)), 0.25 * (c - d))
        d_d = (np.log(hyp2f1(1.0, d + step, c, z)) - np.log(hyp2f1(1.0, d - step, c, z))) / (
            2.0 * step
        )
        d_c = (np.log(hyp2f1(1.0, d, c + step, z)) - np.log(hyp2f1(1.0, d, c - step, z))) / (
            2.0 * step
        )
        d_z = d / c * hyp2f1(2.0, d + 1.0, c + 1.0, z) / base
    finite = np.isfinite(value) & np.isfinite(d_d) & np.isfinite(d_c) & np.isfinite(d_z)
    return np.where(finite, value, np.nan), d_d, d_c, d_z


def log1mexp(x):
    """``log(1 - exp(x))`` for ``x <= 0``, accurate near 0 and for very negative ``x``."""
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore"):
        return np.where(x > -0.6931471805599453, np.log(-np.expm1(x)), np.log1p(-np.exp(x)))


def expm1_ratio(k, length):
    """``(1 - exp(-k * length)) / k``, with its limit ``length`` as ``k`` tends to 0."""
    k = np.asarray(k, dtype=float)
    length = np.asarray(length, dtype=float)
    small = np.abs(k) < 1e-10
    safe_k = np.where(small, 1.0, k)
    return np.where(small, length, -np.expm1(-safe_k * length) / safe_k)
