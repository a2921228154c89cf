"""Pure NumPy kernels of :mod:`xgpm.verify`: sufficient statistics and the scores built from them.

Layering (as in xskillscore): these functions know nothing about xarray or dask. Each
``*_statistics`` kernel reduces the trailing axes of plain arrays to a small vector of *sums*
(counts, sums of values, of squares, of products, contingency counts, FSS sums). Sums can be
added across maps, chunks or workers, so a pooled score is ``finalize(sum of statistics)`` and a
per-map score is ``finalize(statistics of that map)``: one code path for both.

Conventions (see ``docs/verify.md``):

* a pair ``(forecast, reference)`` is used only where both are finite and the mask is true;
* an *event* is ``value >= threshold``;
* SMAPE_t (SatRain) averages over pairs with ``reference > t`` (strictly greater);
* FSS windows are ``n x n`` cells centred on each cell (for even ``n`` the extra row/column lies
  before the centre), cells outside the domain count as non-events (zero padding), fractions are
  divided by ``n * n`` everywhere, and the sums run over valid cells only. Invalid cells count as
  non-events in both fields. This is ``scipy.ndimage.uniform_filter(mode="constant", cval=0)``
  (pysteps' FSS). ``scores.spatial.fss_2d(..., zero_padding=True,
  threshold_operator=np.greater_equal)`` uses the same windows but evaluates one extra row and
  column of centres past the bottom/right edge; it equals xgpm on fields with one all-zero row
  and column appended.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "CONTINUOUS_STATS",
    "CONTINGENCY_STATS",
    "FSS_STATS",
    "all_statistics",
    "continuous_statistics",
    "contingency_statistics",
    "fss_statistics",
    "window_counts",
    "spearman_kernel",
    "continuous_scores",
    "categorical_scores",
    "fss_from_sums",
    "useful_scale",
]

#: Names of the entries of the last axis returned by :func:`continuous_statistics`.
CONTINUOUS_STATS: tuple[str, ...] = (
    "n_valid",
    "sum_f",
    "sum_r",
    "sum_ff",
    "sum_rr",
    "sum_fr",
    "sum_abs_error",
    "sum_sq_error",
    "n_smape",
    "sum_smape",
)
#: Names of the entries of the last axis returned by :func:`contingency_statistics`.
CONTINGENCY_STATS: tuple[str, ...] = ("hits", "misses", "false_alarms", "correct_negatives")
#: Names of the entries of the last axis returned by :func:`fss_statistics`.
FSS_STATS: tuple[str, ...] = ("fss_sum_diff2", "fss_sum_f2", "fss_sum_o2")


#: Cells per batch in the loops over maps (keeps the working set in CPU cache).
_BATCH_CELLS = 100_000


def _flatten_core(array: np.ndarray, n_core: int) -> np.ndarray:
    """Reshape ``(..., *core)`` to ``(..., prod(core))`` (``n_core = 0`` adds an axis of 1)."""
    if n_core == 0:
        return array[..., np.newaxis]
    lead = array.shape[: array.ndim - n_core]
    return array.reshape(*lead, -1)


def _prepare(
    forecast: np.ndarray, reference: np.ndarray, mask: np.ndarray | None, n_core: int
) -> tuple[list[np.ndarray], tuple[int, ...], tuple[int, ...]]:
    """Broadcast the inputs and reshape them to ``(n_blocks, *core)``; no copy of the data."""
    arrays = [np.asarray(forecast), np.asarray(reference)]
    if mask is not None:
        arrays.append(np.asarray(mask))
    arrays = np.broadcast_arrays(*arrays)
    shape = arrays[0].shape
    lead, core = shape[: len(shape) - n_core], shape[len(shape) - n_core :]
    if n_core == 0:
        core = (1,)
    n_blocks = int(np.prod(lead, dtype=np.int64))
    return [a.reshape(n_blocks, *core) for a in arrays], lead, core


def _batches(n_blocks: int, core: tuple[int, ...]) -> list[slice]:
    """Slices of about ``_BATCH_CELLS`` cells along the first axis."""
    step = max(1, _BATCH_CELLS // max(1, int(np.prod(core))))
    return [slice(start, start + step) for start in range(0, n_blocks, step)]


def _clean(arrays: list[np.ndarray], batch: slice) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(f, r, valid)`` of a batch as float64, with invalid pairs set to 0 in ``f`` and ``r``."""
    f = arrays[0][batch].astype(np.float64)
    r = arrays[1][batch].astype(np.float64)
    valid = np.isfinite(f)
    valid &= np.isfinite(r)
    if len(arrays) > 2:
        valid &= arrays[2][batch].astype(bool)
    if not valid.all():
        # Zero the invalid entries so that plain sums skip them (NaN never propagates).
        f[~valid] = 0.0
        r[~valid] = 0.0
    return f, r, valid


def _valid_pairs(
    forecast: np.ndarray, reference: np.ndarray, mask: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Broadcast the inputs to float64 and return ``(f, r, valid)`` with invalid values set to 0."""
    arrays = [np.asarray(forecast), np.asarray(reference)]
    if mask is not None:
        arrays.append(np.asarray(mask))
    arrays = list(np.broadcast_arrays(*arrays))
    return _clean(arrays, slice(None))


def _continuous_core(
    f: np.ndarray, r: np.ndarray, valid: np.ndarray, smape_threshold: float
) -> np.ndarray:
    """:data:`CONTINUOUS_STATS` of cleaned ``(b, n)`` arrays -> ``(b, 10)``."""
    error = f - r
    abs_error = np.abs(error)
    smape_pairs = valid & (r > smape_threshold)
    denominator = np.abs(f)
    denominator += np.abs(r)
    denominator *= 0.5
    smape_terms = np.divide(abs_error, denominator, out=np.zeros_like(f), where=smape_pairs)
    return np.stack(
        [
            np.count_nonzero(valid, axis=-1).astype(np.float64),
            f.sum(axis=-1),
            r.sum(axis=-1),
            np.einsum("bi,bi->b", f, f),
            np.einsum("bi,bi->b", r, r),
            np.einsum("bi,bi->b", f, r),
            abs_error.sum(axis=-1),
            np.einsum("bi,bi->b", error, error),
            np.count_nonzero(smape_pairs, axis=-1).astype(np.float64),
            smape_terms.sum(axis=-1),
        ],
        axis=-1,
    )


def _contingency_core(
    f: np.ndarray, r: np.ndarray, valid: np.ndarray, thresholds: Sequence[float]
) -> np.ndarray:
    """Contingency counts of cleaned ``(b, n)`` arrays -> ``(b, n_thresholds, 4)``."""
    n_valid = np.count_nonzero(valid, axis=-1)
    out = np.empty((f.shape[0], len(thresholds), 4), dtype=np.float64)
    for i, threshold in enumerate(thresholds):
        f_event = f >= threshold
        f_event &= valid
        r_event = r >= threshold
        r_event &= valid
        n_f = np.count_nonzero(f_event, axis=-1)
        n_r = np.count_nonzero(r_event, axis=-1)
        f_event &= r_event
        hits = np.count_nonzero(f_event, axis=-1)
        out[:, i, 0] = hits
        out[:, i, 1] = n_r - hits
        out[:, i, 2] = n_f - hits
        out[:, i, 3] = n_valid - n_f - n_r + hits
    return out


def continuous_statistics(
    forecast: np.ndarray,
    reference: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    n_core: int,
    smape_threshold: float = 0.1,
) -> np.ndarray:
    """Compute the sums from which every continuous score is computed.

    Parameters
    ----------
    forecast, reference : numpy.ndarray
        Broadcastable arrays; the last ``n_core`` axes are reduced.
    mask : numpy.ndarray, optional
        Boolean array, broadcastable; ``False`` excludes a pair.
    n_core : int
        Number of trailing axes to reduce (0 gives per-element statistics).
    smape_threshold : float
        SMAPE uses pairs whose reference is strictly greater than this value.

    Returns
    -------
    numpy.ndarray
        ``(..., len(CONTINUOUS_STATS))`` float64 array, entries named by
        :data:`CONTINUOUS_STATS`.
    """
    return all_statistics(
        forecast,
        reference,
        mask,
        n_core=n_core,
        families=("continuous",),
        smape_threshold=smape_threshold,
    )[0]


def contingency_statistics(
    forecast: np.ndarray,
    reference: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    n_core: int,
    thresholds: Sequence[float],
) -> np.ndarray:
    """Count contingency tables, event = ``value >= threshold``, over the last ``n_core`` axes.

    Returns
    -------
    numpy.ndarray
        ``(..., n_thresholds, 4)`` float64 counts named by :data:`CONTINGENCY_STATS`
        (hits, misses, false alarms, correct negatives). Counts are exact in float64 up to 2**53.
    """
    return all_statistics(
        forecast,
        reference,
        mask,
        n_core=n_core,
        families=("categorical",),
        thresholds=thresholds,
    )[0]


def all_statistics(
    forecast: np.ndarray,
    reference: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    n_core: int,
    families: Sequence[str],
    thresholds: Sequence[float] = (),
    scales: Sequence[int] = (),
    smape_threshold: float = 0.1,
) -> tuple[np.ndarray, ...]:
    """Compute several statistic families in one pass over the data, batch by batch.

    Parameters
    ----------
    forecast, reference, mask : numpy.ndarray
        As in :func:`continuous_statistics`.
    n_core : int
        Trailing axes to reduce; must be 2 (the map) when ``"fss"`` or ``"spearman"`` is asked.
    families : sequence of str
        Among ``"continuous"``, ``"categorical"``, ``"fss"``, ``"spearman"``, ``"n_valid"``.
    thresholds, scales, smape_threshold
        As in the single-family kernels.

    Returns
    -------
    tuple of numpy.ndarray
        One array per family, in the order of ``families``, with the leading shape of the
        broadcast inputs: continuous ``(..., 10)``, categorical ``(..., nt, 4)``, fss
        ``(..., nt, ns, 3)``, spearman ``(...)``, n_valid ``(...)``.
    """
    if ("fss" in families or "spearman" in families) and n_core != 2:
        raise ValueError("fss and spearman statistics need n_core == 2 (one 2-D map).")
    arrays, lead, core = _prepare(forecast, reference, mask, n_core)
    n_blocks = arrays[0].shape[0]
    nt, ns = len(thresholds), len(scales)
    shapes = {
        "continuous": (len(CONTINUOUS_STATS),),
        "categorical": (nt, len(CONTINGENCY_STATS)),
        "fss": (nt, ns, len(FSS_STATS)),
        "spearman": (),
        "n_valid": (),
    }
    outputs = [np.empty((n_blocks, *shapes[name]), dtype=np.float64) for name in families]
    for batch in _batches(n_blocks, core):
        f, r, valid = _clean(arrays, batch)
        flat = [a.reshape(a.shape[0], -1) for a in (f, r, valid)]
        for name, out in zip(families, outputs, strict=True):
            if name == "continuous":
                out[batch] = _continuous_core(*flat, smape_threshold)
            elif name == "categorical":
                out[batch] = _contingency_core(*flat, thresholds)
            elif name == "fss":
                out[batch] = _fss_core(f, r, valid, thresholds, scales)
            elif name == "spearman":
                out[batch] = _spearman_core(*flat)
            elif name == "n_valid":
                out[batch] = np.count_nonzero(flat[2], axis=-1)
            else:
                raise ValueError(f"unknown statistic family {name!r}")
    return tuple(out.reshape((*lead, *out.shape[1:])) for out in outputs)


def _padded_summed_area_table(events: np.ndarray, pad: int) -> np.ndarray:
    """Summed-area table of ``events`` (last two axes) zero-padded by ``pad`` cells all round.

    ``table[..., i, j]`` is the number of events in padded rows ``< i`` and columns ``< j``.
    Integer counts are exact; int32 is used while it cannot overflow (smaller, faster).
    """
    ny, nx = events.shape[-2:]
    size = (ny + 2 * pad + 1) * (nx + 2 * pad + 1)
    dtype = np.int32 if size < np.iinfo(np.int32).max else np.int64
    table = np.zeros((*events.shape[:-2], ny + 2 * pad + 1, nx + 2 * pad + 1), dtype=dtype)
    table[..., pad + 1 : pad + 1 + ny, pad + 1 : pad + 1 + nx] = events
    np.cumsum(table, axis=-2, out=table)
    np.cumsum(table, axis=-1, out=table)
    return table


def _window_from_table(table: np.ndarray, pad: int, size: int, ny: int, nx: int) -> np.ndarray:
    """Window counts of width ``size`` (centred, see :func:`window_counts`) from a padded table."""
    # The window of cell i spans rows i - size // 2 .. i + size - size // 2 - 1.
    lo, hi = pad - size // 2, pad + size - size // 2
    strips = table[..., hi : hi + ny, :] - table[..., lo : lo + ny, :]
    return strips[..., hi : hi + nx] - strips[..., lo : lo + nx]


def window_counts(events: np.ndarray, size: int) -> np.ndarray:
    """Count the events in the ``size x size`` window centred on each cell (zero padding).

    Uses a summed-area table on the last two axes. Cells outside the domain count as
    non-events; for even ``size`` the window spans ``size // 2`` cells before the centre and
    ``size // 2 - 1`` after it. Equal to ``size**2 * scipy.ndimage.uniform_filter(events,
    size, mode="constant", cval=0)`` on the last two axes.

    Parameters
    ----------
    events : numpy.ndarray
        ``(..., ny, nx)`` array of 0/1 (bool or integer).
    size : int
        Window width in grid cells (>= 1).

    Returns
    -------
    numpy.ndarray
        ``(..., ny, nx)`` integer window counts.
    """
    ny, nx = events.shape[-2:]
    return _window_from_table(_padded_summed_area_table(events, size), size, size, ny, nx)


def _fss_core(
    f: np.ndarray,
    r: np.ndarray,
    valid: np.ndarray,
    thresholds: Sequence[float],
    scales: Sequence[int],
) -> np.ndarray:
    """FSS sums of cleaned ``(b, ny, nx)`` maps -> ``(b, n_thresholds, n_scales, 3)``."""
    ny, nx = f.shape[-2:]
    all_valid = bool(valid.all())
    pad = max(scales)
    out = np.empty((f.shape[0], len(thresholds), len(scales), 3), dtype=np.float64)
    for i, threshold in enumerate(thresholds):
        f_table = _padded_summed_area_table((f >= threshold) & valid, pad)
        r_table = _padded_summed_area_table((r >= threshold) & valid, pad)
        for j, size in enumerate(scales):
            pf = _window_from_table(f_table, pad, size, ny, nx)
            po = _window_from_table(r_table, pad, size, ny, nx)
            if not all_valid:  # only valid cells enter the sums
                pf *= valid
                po *= valid
            # Integer window counts, products summed in int64: exact, and much faster than
            # converting to float64 first.
            sum_ff = np.einsum("bij,bij->b", pf, pf, dtype=np.int64).astype(np.float64)
            sum_oo = np.einsum("bij,bij->b", po, po, dtype=np.int64).astype(np.float64)
            sum_fo = np.einsum("bij,bij->b", pf, po, dtype=np.int64).astype(np.float64)
            area2 = (float(size) * float(size)) ** 2
            out[:, i, j, 0] = (sum_ff + sum_oo - 2.0 * sum_fo) / area2
            out[:, i, j, 1] = sum_ff / area2
            out[:, i, j, 2] = sum_oo / area2
    return out


def fss_statistics(
    forecast: np.ndarray,
    reference: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    thresholds: Sequence[float],
    scales: Sequence[int],
) -> np.ndarray:
    """Compute the three FSS sums of each 2-D field (last two axes), per threshold and size.

    Returns
    -------
    numpy.ndarray
        ``(..., n_thresholds, n_scales, 3)`` float64: ``sum (Pf - Po)**2``, ``sum Pf**2`` and
        ``sum Po**2`` over the valid cells, with fractions ``P = window count / n**2``.
    """
    return all_statistics(
        forecast,
        reference,
        mask,
        n_core=2,
        families=("fss",),
        thresholds=thresholds,
        scales=scales,
    )[0]


def _spearman_core(f: np.ndarray, r: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Spearman correlation of each row of cleaned ``(b, n)`` arrays -> ``(b,)``."""
    from scipy.stats import rankdata

    out = np.full(f.shape[0], np.nan)
    for row in range(f.shape[0]):
        keep = valid[row]
        if np.count_nonzero(keep) < 2:
            continue
        rank_f = rankdata(f[row, keep])
        rank_r = rankdata(r[row, keep])
        rank_f -= rank_f.mean()
        rank_r -= rank_r.mean()
        norm = np.sqrt(np.dot(rank_f, rank_f) * np.dot(rank_r, rank_r))
        if norm > 0:
            out[row] = np.dot(rank_f, rank_r) / norm
    return out


def spearman_kernel(
    forecast: np.ndarray, reference: np.ndarray, mask: np.ndarray | None = None, *, n_core: int
) -> np.ndarray:
    """Spearman rank correlation over the last ``n_core`` axes (average ranks for ties).

    Not a sum of per-chunk statistics, so it is offered per map only. NaN where fewer than two
    valid pairs or where either field is constant over the valid pairs.
    """
    arrays, lead, core = _prepare(forecast, reference, mask, n_core)
    f, r, valid = _clean(arrays, slice(None))
    flat = [a.reshape(a.shape[0], -1) for a in (f, r, valid)]
    return _spearman_core(*flat).reshape(tuple(lead))


def _divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``numerator / denominator`` with NaN (not inf, no warning) where the denominator is 0."""
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator != 0, numerator / denominator, np.nan)


def continuous_scores(stats: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Continuous scores from (possibly summed) :data:`CONTINUOUS_STATS` sums.

    Parameters
    ----------
    stats : dict
        Maps each name of :data:`CONTINUOUS_STATS` to an array (any shape, all broadcastable).

    Returns
    -------
    dict
        ``bias`` (mean of f - r), ``relative_bias`` (percent, SatRain), ``mae``, ``mse``,
        ``rmse``, ``smape`` (fraction, not percent), ``pearson_r`` and ``kge`` (Gupta et al.
        2009, population standard deviations). NaN where undefined (no valid pair, constant
        field, zero reference sum ...).
    """
    n = stats["n_valid"]
    mean_f = _divide(stats["sum_f"], n)
    mean_r = _divide(stats["sum_r"], n)
    var_f = _divide(stats["sum_ff"], n) - mean_f**2
    var_r = _divide(stats["sum_rr"], n) - mean_r**2
    cov = _divide(stats["sum_fr"], n) - mean_f * mean_r
    # Raw sums lose ~1e-16 * mean**2 to cancellation: treat variances below that as zero.
    tiny_f = 1e-12 * _divide(stats["sum_ff"], n)
    tiny_r = 1e-12 * _divide(stats["sum_rr"], n)
    var_f = np.where(var_f > tiny_f, var_f, 0.0)
    var_r = np.where(var_r > tiny_r, var_r, 0.0)
    pearson = np.clip(_divide(cov, np.sqrt(var_f * var_r)), -1.0, 1.0)
    alpha = _divide(np.sqrt(var_f), np.sqrt(var_r))
    beta = _divide(mean_f, mean_r)
    mse = _divide(stats["sum_sq_error"], n)
    return {
        "bias": _divide(stats["sum_f"] - stats["sum_r"], n),
        "relative_bias": 100.0 * _divide(stats["sum_f"] - stats["sum_r"], stats["sum_r"]),
        "mae": _divide(stats["sum_abs_error"], n),
        "mse": mse,
        "rmse": np.sqrt(mse),
        "smape": _divide(stats["sum_smape"], stats["n_smape"]),
        "pearson_r": pearson,
        "kge": 1.0 - np.sqrt((pearson - 1.0) ** 2 + (alpha - 1.0) ** 2 + (beta - 1.0) ** 2),
    }


def categorical_scores(
    hits: np.ndarray, misses: np.ndarray, false_alarms: np.ndarray, correct_negatives: np.ndarray
) -> dict[str, np.ndarray]:
    """Scores of a 2 x 2 contingency table (arrays of counts, broadcastable).

    Returns
    -------
    dict
        ``pod`` = TP/(TP+FN), ``far`` = FP/(TP+FP) (false-alarm *ratio*), ``csi`` =
        TP/(TP+FP+FN), ``ets`` (Gilbert skill score), ``hss`` = 2(TP TN - FP FN) / ((TP+FN)(FN+TN)
        + (TP+FP)(FP+TN)), ``frequency_bias`` = (TP+FP)/(TP+FN), ``pofd`` = FP/(FP+TN).
        NaN where a denominator is 0.
    """
    tp, fn, fp, tn = (
        np.asarray(a, dtype=np.float64) for a in (hits, misses, false_alarms, correct_negatives)
    )
    total = tp + fn + fp + tn
    hits_random = _divide((tp + fn) * (tp + fp), total)
    return {
        "pod": _divide(tp, tp + fn),
        "far": _divide(fp, tp + fp),
        "csi": _divide(tp, tp + fp + fn),
        "ets": _divide(tp - hits_random, tp + fp + fn - hits_random),
        "hss": _divide(2.0 * (tp * tn - fp * fn), (tp + fn) * (fn + tn) + (tp + fp) * (fp + tn)),
        "frequency_bias": _divide(tp + fp, tp + fn),
        "pofd": _divide(fp, fp + tn),
    }


def fss_from_sums(sum_diff2: np.ndarray, sum_f2: np.ndarray, sum_o2: np.ndarray) -> np.ndarray:
    """FSS = 1 - sum (Pf - Po)**2 / (sum Pf**2 + sum Po**2); NaN when both fields have no event."""
    return 1.0 - _divide(sum_diff2, np.asarray(sum_f2) + np.asarray(sum_o2))


def useful_scale(fss: np.ndarray, base_rate: np.ndarray, scales: Sequence[int]) -> np.ndarray:
    """Smallest window size at which ``fss > 0.5 + base_rate / 2`` (Roberts & Lean 2008).

    Parameters
    ----------
    fss : numpy.ndarray
        ``(..., n_scales)`` FSS, last axis ordered like ``scales``.
    base_rate : numpy.ndarray
        ``(...)`` observed event frequency f0 over the valid cells.
    scales : sequence of int
        Window sizes (grid cells) of the last axis of ``fss``.

    Returns
    -------
    numpy.ndarray
        ``(...)`` float64 window size, NaN where no scale is useful (or f0 is undefined).
    """
    fss = np.asarray(fss, dtype=np.float64)
    order = np.argsort(scales)
    sorted_scales = np.asarray(scales, dtype=np.float64)[order]
    target = 0.5 + np.asarray(base_rate, dtype=np.float64)[..., np.newaxis] / 2.0
    useful = fss[..., order] > target  # NaN compares False
    first = np.argmax(useful, axis=-1)
    return np.where(useful.any(axis=-1), sorted_scales[first], np.nan)
