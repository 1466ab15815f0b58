"""Distinct rows of a few numeric columns, fast enough for tens of millions of customers."""

from __future__ import annotations

import numpy as np

__all__ = ["codes_of", "collapse_duplicates", "unique_rows"]

# Below this many possible keys per row, distinct rows are counted in a dense table (a
# ``bincount``) instead of sorting the packed keys.
_DENSE_KEYS_PER_ROW = 8


def codes_of(column: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values and each row's index among them.

    The distinct values come from a hash when NumPy has one (2.3+); finding each row's code by
    binary search over those few values is then much cheaper than the argsort that
    ``np.unique(..., return_inverse=True)`` does over all rows.
    """
    try:
        values = np.sort(np.unique(column, sorted=False))
    except TypeError:  # NumPy < 2.3 has no hash-based unique
        values = np.unique(column)
    if values.size and values.dtype.kind == "f" and np.isnan(values[-1]):
        # NaN never equals itself: fall back to the sorting path, which groups NaNs.
        values, inverse = np.unique(column, return_inverse=True)
        return values, inverse.reshape(-1).astype(np.int64)
    return values, np.searchsorted(values, column).astype(np.int64)


def unique_rows(*columns: np.ndarray) -> tuple[tuple[np.ndarray, ...], np.ndarray, np.ndarray]:
    """Return the distinct rows (one array per column), the inverse index and the counts.

    ``columns[k][inverse]`` rebuilds the input. Each column is coded on its own, the codes are
    packed into one integer, and the distinct keys are found by counting in a dense table when
    the key space is small (dates and counts make it so), else by sorting that one integer.
    """
    n = columns[0].shape[0]
    if n == 0:
        return tuple(c[:0] for c in columns), np.zeros(0, np.int64), np.zeros(0, np.int64)
    key = np.zeros(n, dtype=np.int64)
    radix = 1
    for column in columns:
        values, codes = codes_of(column)
        if radix * max(len(values), 1) >= 2**62:  # cannot pack any further: re-code the key
            _, key = codes_of(key)
            radix = int(key.max()) + 1
        key += codes * radix
        radix *= max(len(values), 1)
    if radix <= _DENSE_KEYS_PER_ROW * n:
        table = np.bincount(key, minlength=radix)
        present = np.flatnonzero(table)
        rank = np.zeros(radix, dtype=np.int64)
        rank[present] = np.arange(present.size)
        inverse = rank[key]
        first = np.zeros(present.size, dtype=np.int64)
        # The last write wins: reversed positions leave each key's first row.
        first[inverse[::-1]] = np.arange(n - 1, -1, -1)
        return tuple(c[first] for c in columns), inverse, table[present]
    _, first, inverse, counts = np.unique(
        key, return_index=True, return_inverse=True, return_counts=True
    )
    return tuple(c[first] for c in columns), inverse.reshape(-1), counts


def collapse_duplicates(
    weights: np.ndarray, *columns: np.ndarray
) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """Distinct rows of ``columns`` with the total weight of each.

    Every fit calls this on what it is given, so an analyst may pass one row per customer
    (millions of them) and the likelihood is still evaluated once per distinct history. When
    hardly any row repeats, the rows are returned as they are.
    """
    n = columns[0].shape[0]
    if n < 2:
        return weights, columns
    distinct, inverse, _ = unique_rows(*columns)
    if distinct[0].shape[0] > 0.9 * n:
        return weights, columns
    return np.bincount(inverse, weights=weights, minlength=distinct[0].shape[0]), distinct
