"""Effective resolution of a retrieval: spectral coherence with the reference (GPROF-NN, SatRain).

The smallest scale at which the coherence of retrieval and reference (2-D DCT over fully valid
windows) exceeds ``sqrt(1/2)`` (:data:`~xgpm.verify.retrieval.COHERENCE_THRESHOLD`). Public
through :mod:`xgpm.verify.retrieval` (and ``xgpm.evaluate``).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import xarray as xr

from xgpm.errors import InvalidArgumentError, NoValidPairsError
from xgpm.verify._retrieval_common import (
    _GRID_DIMS,
    _SWATH_DIMS,
    COHERENCE_THRESHOLD,
    _check_inputs,
)


# effective resolution
# --------------------------------------------------------------------------------------------
def _resolve_spatial_dims(
    pred: xr.DataArray, spatial_dims: Sequence[Hashable] | None
) -> tuple[Hashable, Hashable]:
    if spatial_dims is None:
        for candidate in (_SWATH_DIMS, _GRID_DIMS):
            if all(d in pred.dims for d in candidate):
                return candidate
        if pred.ndim == 2:
            return tuple(pred.dims)  # type: ignore[return-value]
        raise InvalidArgumentError(
            f"spatial_dims: cannot guess the two image dimensions among {list(pred.dims)}; pass "
            f"spatial_dims=(..., ...)."
        )
    if (
        isinstance(spatial_dims, str)
        or not isinstance(spatial_dims, Sequence)
        or len(spatial_dims) != 2
    ):
        raise InvalidArgumentError(
            f"spatial_dims: need exactly two dimension names, got {spatial_dims!r}."
        )
    missing = [d for d in spatial_dims if d not in pred.dims]
    if missing:
        raise InvalidArgumentError(
            f"spatial_dims: {missing} not among the data's dimensions {list(pred.dims)}."
        )
    return tuple(spatial_dims)  # type: ignore[return-value]


def _windows(field: np.ndarray, window: int) -> np.ndarray:
    """Non-overlapping ``window x window`` tiles of ``(b, ny, nx)`` -> ``(n_tiles, w, w)``.

    Tiles start at pixel 0 along both axes; a remainder narrower than ``window`` is dropped.
    """
    b, ny, nx = field.shape
    ty, tx = ny // window, nx // window
    cropped = field[:, : ty * window, : tx * window]
    tiles = cropped.reshape(b, ty, window, tx, window).transpose(0, 1, 3, 2, 4)
    return tiles.reshape(-1, window, window)


def _band_edges(window: int) -> np.ndarray:
    """Band edges on the radial index ``n = 0.5 sqrt(ky**2 + kx**2)`` (as in SatRain)."""
    n_bands = int(np.floor(0.5 * (window - 1))) + 1
    return np.arange(n_bands + 1) - 0.5


def coherence_spectrum(
    pred: xr.DataArray,
    ref: xr.DataArray,
    *,
    pixel_km: float,
    window: int = 32,
    spatial_dims: Sequence[Hashable] | None = None,
) -> xr.DataArray:
    """Spectral coherence of ``pred`` and ``ref`` per wavenumber band (2-D DCT over windows).

    The fields are cut into non-overlapping ``window x window`` tiles (starting at the first
    pixel; a remainder is dropped) and only tiles where both fields are finite everywhere are
    used. Each tile is transformed with an orthonormal 2-D DCT-II (``scipy.fft.dctn``). For
    each DCT coefficient ``(ky, kx)`` the sums over tiles ``Sxy = sum X Y``, ``Sxx = sum X**2``,
    ``Syy = sum Y**2`` give the coherence ``|Sxy| / sqrt(Sxx Syy)`` (real DCT, so ``Y* = Y``);
    the band value is the mean of this coherence over the coefficients of the band. Bands are
    unit-width bins of ``n = 0.5 sqrt(ky**2 + kx**2)`` centred on ``n = 0, 1, ...,
    floor((window - 1) / 2)`` (``n`` counts the cosine periods across the window); the scale of
    band ``n`` is ``0.5 (window - 1) pixel_km / n``, about half the wavelength ``window / n``
    pixels. This is SatRain's / GPROF-NN's definition; coherence > sqrt(1/2) is the same as a
    squared coherence > 1/2.

    Parameters
    ----------
    pred, ref : xarray.DataArray
        Retrieval and reference; any dims besides ``spatial_dims`` are looped over (each image
        gives its own tiles). The data are loaded into memory.
    pixel_km : float
        Pixel size in km.
    window : int
        Tile width in pixels (>= 4, at most the image size).
    spatial_dims : sequence of two str, optional
        Image dimensions; see :func:`evaluate_retrieval`.

    Returns
    -------
    xarray.DataArray
        ``spectral_coherence`` along ``band`` (``n``), with coords ``scale_km``,
        ``wavenumber_per_km`` (``n / (window pixel_km)``) and ``n_coefficients``; attrs
        ``n_windows``, ``window``, ``pixel_km``, ``threshold`` and ``effective_resolution_km``.

    Raises
    ------
    xgpm.errors.InvalidArgumentError
        Mismatched inputs, bad ``pixel_km``/``window``.
    xgpm.errors.NoValidPairsError
        No tile is fully valid.
    """
    from scipy.fft import dctn

    _check_inputs(pred, ref)
    try:
        pixel_km = float(pixel_km)
    except (TypeError, ValueError):
        pixel_km = float("nan")
    if not np.isfinite(pixel_km) or pixel_km <= 0:
        raise InvalidArgumentError(f"pixel_km: need a positive pixel size in km, got {pixel_km}.")
    dim_y, dim_x = _resolve_spatial_dims(pred, spatial_dims)
    if not isinstance(window, int | np.integer) or window < 4:
        raise InvalidArgumentError(f"window: need an integer >= 4 pixels, got {window!r}.")
    if window > min(pred.sizes[dim_y], pred.sizes[dim_x]):
        raise InvalidArgumentError(
            f"window: {window} pixels exceeds the image size "
            f"({pred.sizes[dim_y]} x {pred.sizes[dim_x]}); use a smaller window."
        )
    order = [d for d in pred.dims if d not in (dim_y, dim_x)] + [dim_y, dim_x]
    p = np.asarray(pred.transpose(*order).values, dtype=np.float64)
    r = np.asarray(ref.transpose(*order).values, dtype=np.float64)
    p = p.reshape(-1, *p.shape[-2:])
    r = r.reshape(-1, *r.shape[-2:])
    p_tiles, r_tiles = _windows(p, window), _windows(r, window)
    valid = np.isfinite(p_tiles).all(axis=(1, 2)) & np.isfinite(r_tiles).all(axis=(1, 2))
    n_windows = int(valid.sum())
    if n_windows == 0:
        raise NoValidPairsError(
            f"pred/ref: no {window} x {window} window where both fields are finite everywhere; "
            f"use a smaller window or check the NaN pattern."
        )
    sxx = np.zeros((window, window))
    syy = np.zeros((window, window))
    sxy = np.zeros((window, window))
    valid_index = np.flatnonzero(valid)
    for start in range(0, valid_index.size, 256):  # bounded memory on long archives
        batch = valid_index[start : start + 256]
        x = dctn(p_tiles[batch], type=2, norm="ortho", axes=(1, 2))
        y = dctn(r_tiles[batch], type=2, norm="ortho", axes=(1, 2))
        sxx += np.einsum("kij,kij->ij", x, x)
        syy += np.einsum("kij,kij->ij", y, y)
        sxy += np.einsum("kij,kij->ij", x, y)
    denominator = np.sqrt(sxx * syy)
    defined = denominator > 0
    coherence = np.divide(np.abs(sxy), denominator, out=np.zeros_like(sxy), where=defined)

    k = np.arange(window)
    radial = 0.5 * np.sqrt(k[:, np.newaxis] ** 2 + k[np.newaxis, :] ** 2)
    edges = _band_edges(window)
    n_coeff, _ = np.histogram(radial[defined], bins=edges)
    summed, _ = np.histogram(radial[defined], bins=edges, weights=coherence[defined])
    band_coherence = np.full(n_coeff.shape, np.nan)
    np.divide(summed, n_coeff, out=band_coherence, where=n_coeff > 0)
    n = np.arange(edges.size - 1, dtype=np.float64)
    scale_km = np.full(n.shape, np.inf)
    scale_km[1:] = 0.5 * (window - 1) * pixel_km / n[1:]
    resolved = (band_coherence > COHERENCE_THRESHOLD) & (n > 0)
    eff = float(scale_km[resolved].min()) if resolved.any() else float("inf")
    return xr.DataArray(
        band_coherence,
        dims=("band",),
        coords={
            "band": n,
            "scale_km": ("band", scale_km),
            "wavenumber_per_km": ("band", n / (window * pixel_km)),
            "n_coefficients": ("band", n_coeff),
        },
        name="spectral_coherence",
        attrs={
            "long_name": "spectral coherence |Sxy| / sqrt(Sxx Syy), mean over the band",
            "units": "1",
            "n_windows": n_windows,
            "window": int(window),
            "pixel_km": pixel_km,
            "threshold": COHERENCE_THRESHOLD,
            "effective_resolution_km": eff,
        },
    )


def effective_resolution(
    pred: xr.DataArray,
    ref: xr.DataArray,
    *,
    pixel_km: float,
    window: int = 32,
    spatial_dims: Sequence[Hashable] | None = None,
) -> tuple[float, xr.DataArray]:
    """Smallest scale (km) at which the spectral coherence exceeds ``sqrt(1/2)``.

    Parameters are those of :func:`coherence_spectrum`, which computes the spectrum. The mean
    (``n = 0``) band is never counted. As in SatRain, the result is the smallest scale whose
    band exceeds the threshold, even if a larger scale does not.

    Returns
    -------
    scale_km : float
        Effective resolution in km; ``inf`` if no band exceeds the threshold. The smallest
        value possible is the scale of the last band, ``0.5 (window - 1) pixel_km / n_max``
        with ``n_max = floor((window - 1) / 2)`` (about one pixel).
    spectrum : xarray.DataArray
        The coherence spectrum (see :func:`coherence_spectrum`).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> field = xr.DataArray(np.random.default_rng(0).gamma(0.5, size=(64, 64)))
    >>> scale, spectrum = effective_resolution(field, field, pixel_km=5.0)
    >>> round(scale, 3), int(spectrum.attrs["n_windows"])
    (5.167, 4)
    """
    spectrum = coherence_spectrum(
        pred, ref, pixel_km=pixel_km, window=window, spatial_dims=spatial_dims
    )
    return float(spectrum.attrs["effective_resolution_km"]), spectrum


# --------------------------------------------------------------------------------------------
