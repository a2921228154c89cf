"""Channel-level operations on 1C data: sensor lookup, channel selection, PCT."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from xgpm import sensors
from xgpm.errors import InvalidArgumentError, MissingChannelsError, UnknownChannelError

__all__ = ["sensor_of", "channels_of", "select_channels", "pct", "PCT_COEFFICIENTS"]

#: Polarisation-corrected temperature coefficients c, PCT = (1 + c) V - c H, per nominal band
#: (GHz), from Cecil & Chronis (2018). A sensor's nearest V/H pair to the band is used.
PCT_COEFFICIENTS: dict[float, float] = {10.65: 1.5, 18.7: 1.40, 36.64: 1.15, 89.0: 0.7}


def sensor_of(obj: xr.Dataset | xr.DataArray, sensor: str | None = None) -> sensors.Sensor:
    """The sensor of a Dataset/DataArray, from ``sensor`` or its ``gpm_api_product`` attribute.

    Works on datasets opened by xgpm and by GPM-API alike (both set ``gpm_api_product``).
    """
    if sensor is not None:
        return sensors.get(sensor)
    product = obj.attrs.get("gpm_api_product")
    if not product:
        raise InvalidArgumentError(
            "cannot tell the sensor: the object has no 'gpm_api_product' attribute; pass "
            "sensor='GMI' (or another sensors.names() entry)"
        )
    return sensors.from_product(product)


def _labels(obj: xr.Dataset | xr.DataArray) -> list[str]:
    if "pmw_frequency" not in obj.coords:
        raise InvalidArgumentError(
            "the object has no 'pmw_frequency' coordinate: channel operations need 1C "
            "brightness temperatures (e.g. xgpm.open_granule(<1C file>))"
        )
    return [str(v) for v in np.atleast_1d(obj["pmw_frequency"].values)]


def channels_of(obj: xr.Dataset | xr.DataArray, sensor: str | None = None):
    """The registry :class:`~xgpm.sensors.Channel` of each ``pmw_frequency`` label, in order."""
    sen = sensor_of(obj, sensor)
    return [sen.channel(label) for label in _labels(obj)]


def select_channels(
    obj: xr.Dataset | xr.DataArray,
    channels: str | Sequence[str] | None = None,
    *,
    frequency: float | Sequence[float] | None = None,
    polarization: str | None = None,
    sensor: str | None = None,
) -> xr.Dataset | xr.DataArray:
    """Select channels by label, or by nearest frequency (and polarisation).

    Parameters
    ----------
    obj : Dataset or DataArray
        1C data with a ``pmw_frequency`` dimension.
    channels : str or sequence of str, optional
        Channel labels (``"89V"``, ``["37V", "37H"]``).
    frequency : float or sequence of float, optional
        Frequencies in GHz; the sensor's nearest channel (of ``polarization`` if given) is
        taken for each.
    polarization : str, optional
        ``"V"``, ``"H"`` (quasi-polarisations match too).
    sensor : str, optional
        Sensor name when the object has no ``gpm_api_product`` attribute.

    Raises
    ------
    UnknownChannelError
        If a label is not in the object (the message lists those present).

    Examples
    --------
    >>> ds.gpm.select_channels(["37V", "37H", "89V", "89H"])  # doctest: +SKIP
    >>> ssmis.gpm.select_channels(frequency=89.0, polarization="V")  # 91V  # doctest: +SKIP
    """
    present = _labels(obj)
    if channels is None and frequency is None:
        raise InvalidArgumentError("give channel labels or frequency=...")
    if channels is not None and frequency is not None:
        raise InvalidArgumentError("give channel labels or frequency=..., not both")
    if frequency is not None:
        sen = sensor_of(obj, sensor)
        freqs = [frequency] if np.isscalar(frequency) else list(frequency)
        wanted = []
        for f in freqs:
            candidates = [sen.channel(lab) for lab in present]
            best = min(
                (c for c in candidates if _pol_matches(c.polarization, polarization)),
                key=lambda c: abs(np.log(c.frequency / float(f))),
                default=None,
            )
            if best is None:
                raise UnknownChannelError(
                    f"no channel of polarisation {polarization!r} among {present}"
                )
            wanted.append(best.label)
    else:
        wanted = [channels] if isinstance(channels, str) else list(channels)
    missing = [c for c in wanted if c not in present]
    if missing:
        raise UnknownChannelError(
            f"channel(s) {missing} not in the data; present: {', '.join(present)}"
        )
    return obj.sel(pmw_frequency=wanted)


def _pol_matches(pol: str, wanted: str | None) -> bool:
    return wanted is None or pol == wanted or pol == "Q" + wanted


def _pct_pair(sen: sensors.Sensor, labels: list[str], frequency: float) -> tuple[str, str, float]:
    band = min(PCT_COEFFICIENTS, key=lambda b: abs(np.log(b / frequency)))
    if abs(np.log(band / frequency)) > 0.15:
        raise InvalidArgumentError(
            f"no PCT coefficient near {frequency} GHz; PCT is defined at "
            f"{', '.join(f'{b:g}' for b in PCT_COEFFICIENTS)} GHz"
        )
    chans = [sen.channel(lab) for lab in labels]

    def nearest(pol: str):
        options = [c for c in chans if c.polarization == pol and c.offset == 0]
        if not options:
            return None
        return min(options, key=lambda c: abs(np.log(c.frequency / frequency)))

    v, h = nearest("V"), nearest("H")
    if v is None or h is None or abs(np.log(v.frequency / frequency)) > 0.15:
        raise MissingChannelsError(
            f"PCT at {frequency:g} GHz needs a V and an H channel near {frequency:g} GHz; "
            f"{sen.name} data here has {', '.join(labels)}"
        )
    return v.label, h.label, PCT_COEFFICIENTS[band]


def pct(
    obj: xr.Dataset | xr.DataArray,
    frequency: float = 89.0,
    *,
    variable: str = "Tc",
    sensor: str | None = None,
) -> xr.DataArray:
    """Polarisation-corrected temperature ``PCT = (1 + c) V - c H`` (Cecil & Chronis 2018).

    The sensor's V/H pair nearest to ``frequency`` is used (SSMIS 91.655 GHz for 89), with the
    coefficient of the nominal band: c = 1.5 (10 GHz), 1.40 (19), 1.15 (37), 0.7 (89).
    Lazy for dask-backed input.

    Examples
    --------
    >>> pct89 = ds.gpm.pct(89)  # doctest: +SKIP
    >>> (pct89 < 250).mean()    # fraction of pixels with precipitation-size ice  # doctest: +SKIP
    """
    da = obj[variable] if isinstance(obj, xr.Dataset) else obj
    sen = sensor_of(obj, sensor)
    v_label, h_label, c = _pct_pair(sen, _labels(da), float(frequency))
    v = da.sel(pmw_frequency=v_label, drop=True)
    h = da.sel(pmw_frequency=h_label, drop=True)
    out = (1.0 + c) * v - c * h
    out.name = f"PCT{frequency:g}"
    out.attrs = {
        "units": "K",
        "long_name": f"polarisation-corrected temperature at {frequency:g} GHz",
        "channels": f"{v_label},{h_label}",
        "coefficient": c,
    }
    return out
