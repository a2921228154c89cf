"""Decoding stored PPS values into the data model, and the raw codes behind them.

A :class:`Decoder` turns the values of one HDF5 dataset as stored into data-model values:
``_FillValue`` and ``CodeMissingValue`` become NaN (GPM-API's CF decoding), and so do the PPS
special codes the registry declares for the variable (``xgpm/etc/products.yaml``,
``decoding``): -9999 stored under a -9999.9 ``_FillValue``, -99 flags, -1111 "no bright band",
the 0 "no bin" of 1-based bin indices ... Integer variables that can hold NaN become floats
(int8/int16 -> float32, int32 -> float64), like xarray's CF decoding.

Several stored codes can become one NaN, so a decoded variable also carries its raw values
(:class:`RawValues`, lazy, in ``encoding["raw_values"]``): the writer puts the original code
back wherever a value is unchanged (:func:`restore_codes`), and users read them with
``encoding["raw_values"].read()`` or ``open_granule(..., decode=False)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from xgpm.io.products import DecodeRule

__all__ = ["Decoder", "RawGroup", "RawValues", "decoder_for", "restore_codes"]


def _codes(values: tuple[float, ...], dtype: np.dtype) -> tuple[Any, ...]:
    """The codes representable in ``dtype`` (as ``dtype`` scalars), without repeats."""
    out: list[Any] = []
    for value in values:
        if dtype.kind in "iu":
            info = np.iinfo(dtype)
            if float(value) != int(value) or not info.min <= value <= info.max:
                continue
            code = dtype.type(int(value))
        elif dtype.kind == "f":
            code = dtype.type(value)
        else:
            continue
        if not any(code == c for c in out):
            out.append(code)
    return tuple(out)


@dataclass(frozen=True)
class Decoder:
    """Stored values -> data-model values for one dataset (picklable, no data).

    Attributes
    ----------
    stored_dtype, out_dtype : numpy.dtype
        The dtype in the file and in the data model.
    missing : tuple
        Stored codes that become NaN (fill value, CodeMissingValue, the registry's codes).
    valid_min, above : float, optional
        Values below ``valid_min``, or not above ``above``, become NaN.
    replace : tuple of (code, value)
        Stored codes that become another value.
    """

    stored_dtype: np.dtype
    out_dtype: np.dtype
    missing: tuple[Any, ...] = ()
    valid_min: float | None = None
    above: float | None = None
    replace: tuple[tuple[Any, float], ...] = ()

    @property
    def extra(self) -> bool:
        """Whether more than the fill value changes (the writer then needs the raw codes)."""
        return len(self.missing) > 1 or bool(
            self.replace or self.valid_min is not None or self.above is not None
        )

    def __call__(self, raw: np.ndarray, inplace: bool = False) -> np.ndarray:
        """Decode stored values (any shape) to the data model.

        Parameters
        ----------
        raw : numpy.ndarray
            Values as stored.
        inplace : bool
            ``raw`` is a fresh buffer nobody else holds (a block just read from the file): when
            no dtype change or replacement is needed, NaN is written into it instead of a copy.
        """
        raw = np.asarray(raw)
        plain = not (self.missing or self.replace) and self.valid_min is None
        if self.out_dtype.kind != "f" or (plain and self.above is None):
            return raw.astype(self.out_dtype, copy=False)
        reuse = (
            inplace
            and not self.replace
            and raw.dtype == self.out_dtype
            and raw.flags.writeable
            and raw.ndim > 0
        )
        # every mask is taken from the stored values before anything is written (``out`` may
        # be ``raw`` itself)
        out = raw if reuse else raw.astype(self.out_dtype, copy=True)
        bad: np.ndarray | None = None

        def add(mask: np.ndarray) -> None:
            nonlocal bad
            if bad is None:
                bad = mask
            else:
                np.logical_or(bad, mask, out=bad)

        for code in self.missing:
            add(raw == code)
        with np.errstate(invalid="ignore"):
            if self.valid_min is not None:
                add(raw < self.valid_min)
            if self.above is not None:
                add(raw <= self.above)
        for code, value in self.replace:
            hit = raw == code
            out[hit] = value
            if bad is not None:
                bad &= ~hit
        if bad is not None:
            np.copyto(out, np.nan, where=bad, casting="unsafe")
        return out

    def describe(self) -> dict[str, Any]:
        """What the decoder does, as plain data (``encoding["decoding"]``)."""
        out: dict[str, Any] = {"missing": [np.asarray(c).item() for c in self.missing]}
        if self.valid_min is not None:
            out["valid_min"] = self.valid_min
        if self.above is not None:
            out["above"] = self.above
        if self.replace:
            out["replace"] = {np.asarray(c).item(): v for c, v in self.replace}
        return out


def _code_missing_value(attrs: Any) -> float | None:
    text = attrs.get("CodeMissingValue")
    if text is None:
        return None
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    try:
        return float(np.asarray(text).reshape(-1)[0])
    except (TypeError, ValueError):
        return None


def decoder_for(
    dset: Any, rule: DecodeRule | None, *, decode: bool = True, attrs: Any = None
) -> Decoder:
    """The decoder of an HDF5 dataset under a registry rule (``decode=False``: values as stored).

    The fill values are the dataset's ``_FillValue`` and ``CodeMissingValue`` (GPM-API takes the
    latter); an integer dataset with any missing value decodes to float. ``attrs``: the
    dataset's attributes when already read.
    """
    dtype = np.dtype(dset.dtype)
    if not decode or dtype.kind not in "iuf":
        return Decoder(dtype, dtype)
    attrs = dset.attrs if attrs is None else attrs
    rule = rule or DecodeRule()
    fills: list[float] = []
    fill = attrs.get("_FillValue")
    if fill is not None:
        fills.append(float(np.asarray(fill).reshape(-1)[0]))
    cmv = _code_missing_value(attrs)
    if cmv is not None:
        fills.append(cmv)
    missing = _codes(tuple(fills) + rule.missing, dtype)
    replace: list[tuple[Any, float]] = []
    for code, value in rule.replace:
        representable = _codes((code,), dtype)
        if representable:
            replace.append((representable[0], value))
    needs_nan = bool(missing) or rule.valid_min is not None or rule.above is not None
    out_dtype = dtype
    if dtype.kind in "iu" and (needs_nan or replace):
        out_dtype = np.dtype("float64") if dtype.itemsize >= 4 else np.dtype("float32")
    return Decoder(
        stored_dtype=dtype,
        out_dtype=out_dtype,
        missing=missing,
        valid_min=rule.valid_min,
        above=rule.above,
        replace=tuple(replace),
    )


class RawValues:
    """The stored values of one dataset, read on demand (picklable; holds no data).

    Attributes
    ----------
    path : str
        The HDF5 path of the dataset.
    shape : tuple
        Its stored shape (HDF5 dimension order).
    """

    def __init__(self, file: Any, path: str, shape: tuple[int, ...], decoder: Decoder):
        self.file = file
        self.path = path
        self.shape = tuple(shape)
        self.decoder = decoder

    def __repr__(self) -> str:
        return f"RawValues({self.path!r}, shape={self.shape}, dtype={self.decoder.stored_dtype})"

    def __deepcopy__(self, memo: dict) -> RawValues:
        return self  # a read-only view of a file: copies share it

    def __reduce__(self):
        return (RawValues, (self.file, self.path, self.shape, self.decoder))

    def read(self) -> np.ndarray:
        """The stored values (stored dtype and dimension order)."""
        from xgpm.io._hdf5 import H5Opener, cached_file

        h5 = cached_file(self.file) if isinstance(self.file, H5Opener) else self.file
        return np.asarray(h5[self.path][()])


class RawGroup:
    """An HDF5 group of a source file, opened on demand (``ScanTime``, to write it back as is)."""

    def __init__(self, file: Any, path: str):
        self.file = file
        self.path = path

    def __repr__(self) -> str:
        return f"RawGroup({self.path!r})"

    def __deepcopy__(self, memo: dict) -> RawGroup:
        return self

    def __reduce__(self):
        return (RawGroup, (self.file, self.path))

    def open(self):
        """The h5py group (raises if the source is gone)."""
        from xgpm.io._hdf5 import H5Opener, cached_file

        h5 = cached_file(self.file) if isinstance(self.file, H5Opener) else self.file
        return h5[self.path]


def restore_codes(values: np.ndarray, encoded: np.ndarray, raw: RawValues | None) -> np.ndarray:
    """Put the stored codes back where ``values`` (HDF5 order) are the decoded raw values.

    ``encoded`` is ``values`` encoded with the plain fill value; wherever a value was not changed
    since it was read (its decoded raw value equals it, NaN included), the original stored code
    is written instead, so -9999 stays -9999 and -1111 stays -1111. Values changed since, and
    variables whose shape changed (subsets), keep the plain encoding.
    """
    if raw is None or tuple(np.shape(values)) != raw.shape:
        return encoded
    try:
        stored = raw.read()
    except Exception:  # noqa: BLE001 - the source is gone or changed: plain encoding
        return encoded
    if stored.shape != encoded.shape or stored.dtype != encoded.dtype:
        return encoded
    decoded = raw.decoder(stored)
    values = np.asarray(values)
    if values.dtype.kind == "f" and decoded.dtype.kind == "f":
        same = (decoded == values) | (np.isnan(decoded) & np.isnan(values))
    else:
        same = decoded == values
    out = np.array(encoded, copy=True)
    out[same] = stored[same]
    return out
