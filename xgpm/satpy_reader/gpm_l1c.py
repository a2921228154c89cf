"""Satpy file handlers for PPS GPM granules, built on :func:`xgpm.open_granule`.

Each granule is opened once, lazily (dask), with xgpm's own reader; the handlers only translate
to satpy's conventions:

* arrays are transposed from GPM-API's ``(cross_track, along_track)`` to satpy's ``(y, x)`` =
  ``(along_track, cross_track)``, with the scan time kept as a ``time`` coordinate along ``y``;
* every scan mode is its own swath: datasets ``longitude_S1`` / ``latitude_S1`` (``_FS`` for the
  DPR) are the coordinates of the channels of that scan mode, so satpy builds one
  ``SwathDefinition`` per scan mode;
* 1C channels are generated from the sensor registry (:mod:`xgpm.sensors`), named by their
  GPM-API label (``"89V"``, ``"183V7"``) and identified like satpy's microwave readers by
  ``frequency_range`` (single passband) or ``frequency_double_sideband`` (``183V7``),
  ``polarization`` and ``calibration="brightness_temperature"``.

The registry gives channel centre frequencies and sideband offsets but no passband widths; the
``bandwidth`` of the frequency keys is therefore a *matching window* (see
:func:`channel_frequency`), wide enough that a query such as ``frequency_range=89.0`` finds the
channel; when several channels match, satpy picks the nearest centre.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Iterator
from typing import Any

import xarray as xr
from satpy.readers.core.file_handlers import BaseFileHandler
from satpy.readers.pmw_channels_definitions import FrequencyDoubleSideBand, FrequencyRange

try:  # satpy >= 0.57
    from satpy.readers.core.remote import FSFile, open_file_or_filename
except ImportError:  # pragma: no cover - older satpy
    from satpy.readers import FSFile, open_file_or_filename

from xgpm.errors import MissingVariableError
from xgpm.io.filenames import parse_filename
from xgpm.io.read import open_granule
from xgpm.sensors import Channel, Sensor, from_product

__all__ = [
    "GPML1CFileHandler",
    "GPMDPRL2AFileHandler",
    "channel_frequency",
    "channel_dataset_name",
    "granule_source",
    "MATCH_WINDOW_FRACTION",
]

#: Width of the frequency matching window of a single-passband channel, as a fraction of its
#: centre frequency (89 GHz -> 4.45 GHz). Not the instrument passband (the registry has none).
MATCH_WINDOW_FRACTION = 0.05

#: 2A-DPR scan modes exposed, in priority order; datasets of later modes get a ``_<mode>`` suffix.
DPR_SCAN_MODES = ("FS", "HS")


def channel_frequency(channel: Channel) -> FrequencyRange | FrequencyDoubleSideBand:
    """Return the satpy frequency identifier of a registry channel.

    Parameters
    ----------
    channel : xgpm.sensors.Channel
        A radiometer channel of the registry.

    Returns
    -------
    FrequencyRange or FrequencyDoubleSideBand
        ``FrequencyDoubleSideBand(central, side=offset, bandwidth)`` for a double-sideband
        channel (``offset > 0``), ``FrequencyRange(central, bandwidth)`` otherwise, in GHz. The
        bandwidth is the channel's own when the registry has one (attribute ``bandwidth``), else
        a matching window: the sideband offset for double-sideband channels (windows of
        neighbouring 183 GHz channels then barely overlap) and
        ``MATCH_WINDOW_FRACTION * frequency`` for single passbands.
    """
    bandwidth = getattr(channel, "bandwidth", None)
    if channel.offset > 0:
        width = float(bandwidth) if bandwidth else float(channel.offset)
        return FrequencyDoubleSideBand(float(channel.frequency), float(channel.offset), width)
    width = float(bandwidth) if bandwidth else MATCH_WINDOW_FRACTION * float(channel.frequency)
    return FrequencyRange(float(channel.frequency), width)


def channel_dataset_name(sensor: Sensor, channel: Channel) -> str:
    """Return the satpy dataset name of ``channel``: its label, or ``label_<mode>`` for a repeat.

    A label repeated in a later scan mode (AMSR2 89 GHz A- and B-horn, S5 and S6) keeps the plain
    label for the first scan mode, as :meth:`xgpm.sensors.Sensor.channel` does. Such a repeat
    has no frequency key in its satpy DataID (load it by name, ``"89V_S6"``), so that a frequency
    query finds the first scan mode's channel instead of an ambiguous tie.
    """
    first = sensor.channel(channel.label)
    if first.scan_mode == channel.scan_mode:
        return channel.label
    return f"{channel.label}_{channel.scan_mode}"


def granule_source(filename: Any) -> Any:
    """What :func:`xgpm.open_granule` reads for a file name satpy hands to a file handler.

    Like satpy's own readers (``open_file_or_filename``): a :class:`satpy.readers.FSFile` on a
    remote file system (``s3://``, ``memory://`` ... URLs, which ``Scene`` turns into FSFiles) is
    opened with its file system, credentials included, and read as a file object; a local one,
    a :class:`pathlib.Path` or a string is read by path (a string URL through fsspec).

    Parameters
    ----------
    filename : str, os.PathLike or FSFile
        The ``filename`` of the file handler.

    Returns
    -------
    str or file object
    """
    if isinstance(filename, FSFile):
        fs = getattr(filename, "_fs", None)
        protocol = getattr(fs, "protocol", "file") if fs is not None else "file"
        protocols = (protocol,) if isinstance(protocol, str) else tuple(protocol)
        if {"file", "local"} & set(protocols):
            return os.fspath(filename)
        return open_file_or_filename(filename)
    if isinstance(filename, os.PathLike):
        return os.fspath(filename)
    return filename


def _to_satpy(array: xr.DataArray) -> xr.DataArray:
    """Transpose an orbit array to satpy's (y, x) and keep only the scan time as coordinate."""
    array = array.transpose("along_track", "cross_track")
    keep = {"time"} if "time" in array.coords else set()
    array = array.drop_vars([c for c in array.coords if c not in keep])
    return array.rename({"along_track": "y", "cross_track": "x"})


class _PPSFileHandler(BaseFileHandler):
    """Shared part of every handler: a PPS file name, its times, and the dataset listing.

    Subclasses yield their granule's datasets from ``_dynamic_infos``.
    """

    def __init__(self, filename: Any, filename_info: dict, filetype_info: dict):
        """Parse the PPS file name and resolve what :func:`xgpm.open_granule` reads."""
        super().__init__(filename, filename_info, filetype_info)
        self._pps_name = parse_filename(os.path.basename(str(filename)))
        # kept open for the lazy reads of a remote file (a file object)
        self._source = granule_source(filename)

    @property
    def start_time(self) -> dt.datetime:
        """Start of the granule (from the PPS file name)."""
        return self._pps_name.start

    @property
    def end_time(self) -> dt.datetime:
        """End of the granule (from the PPS file name, next day for granules over midnight)."""
        return self._pps_name.end

    def _dynamic_infos(self) -> Iterator[dict]:
        raise NotImplementedError

    def available_datasets(self, configured_datasets=None):
        """Pass configured datasets on, then yield this granule's datasets, built from xgpm.

        With several granules, the first handler adds the datasets; later ones only add those
        that their granule has and earlier ones lacked.
        """
        known: set[str] = set()
        for is_avail, ds_info in configured_datasets or []:
            if is_avail is not None:
                if is_avail and ds_info.get("file_type") == self.filetype_info["file_type"]:
                    known.add(ds_info["name"])
                yield is_avail, ds_info
                continue
            yield self.file_type_matches(ds_info["file_type"]), ds_info
        for ds_info in self._dynamic_infos():
            if ds_info["name"] not in known:
                yield True, ds_info


class _GPMGranuleFileHandler(_PPSFileHandler):
    """Shared part: one PPS granule opened with xgpm, one lazy Dataset per scan mode."""

    #: Variables to read per scan mode (None: all).
    variables: tuple[str, ...] | None = None

    def __init__(
        self, filename: Any, filename_info: dict, filetype_info: dict, chunks: Any = "auto"
    ):
        """Open the granule with :func:`xgpm.open_granule` (lazily).

        ``chunks`` (satpy: ``Scene(..., reader_kwargs={"chunks": 500})``) is passed to
        :func:`xgpm.open_granule`: an int is the number of scans per dask chunk.
        """
        super().__init__(filename, filename_info, filetype_info)
        tree = open_granule(self._source, scan_mode="all", variables=self.variables, chunks=chunks)
        self._scan_modes: dict[str, xr.Dataset] = {
            name: node.to_dataset() for name, node in tree.children.items()
        }
        self._attrs = dict(tree.attrs)
        self.product: str = self._attrs["gpm_api_product"]
        self.sensor: Sensor = from_product(self.product)

    @property
    def sensor_names(self) -> set[str]:
        """The instrument, lower case as satpy names sensors ("gmi", "ssmis")."""
        return {self.sensor.instrument.lower()}

    def _scan_mode(self, mode: str) -> xr.Dataset:
        try:
            return self._scan_modes[mode]
        except KeyError:
            raise MissingVariableError(
                f"{self.filename}: no scan mode {mode!r} in this {self.product} granule; "
                f"available: {', '.join(self._scan_modes)}"
            ) from None

    def _coordinate_infos(self, modes: Iterable[str]) -> Iterator[dict]:
        for mode in modes:
            for standard_name, units in (
                ("longitude", "degrees_east"),
                ("latitude", "degrees_north"),
            ):
                yield {
                    "name": f"{standard_name}_{mode}",
                    "standard_name": standard_name,
                    "units": units,
                    "scan_mode": mode,
                    "file_type": self.filetype_info["file_type"],
                }

    def _common_attrs(self, mode: str) -> dict[str, Any]:
        return {
            "platform_name": self.sensor.platform,
            "sensor": self.sensor.instrument.lower(),
            "start_time": self.start_time,
            "end_time": self.end_time,
            "orbit_number": self._pps_name.granule,
            "gpm_api_product": self.product,
            "scan_mode": mode,
        }

    def get_dataset(self, dataset_id, ds_info: dict) -> xr.DataArray:
        """Return the dataset as a lazy ``(y, x)`` DataArray with satpy metadata."""
        mode = ds_info["scan_mode"]
        ds = self._scan_mode(mode)
        standard_name = ds_info.get("standard_name")
        if standard_name in ("longitude", "latitude"):
            array = ds["lon" if standard_name == "longitude" else "lat"]
        else:
            array = self._select(ds, ds_info)
        out = _to_satpy(array)
        attrs = dict(array.attrs)
        attrs.pop("grid_mapping", None)
        attrs.update(self._common_attrs(mode))
        attrs.update({k: v for k, v in ds_info.items() if k not in ("coordinates",)})
        attrs.update(dataset_id.to_dict())
        out.attrs = attrs
        return out

    def _select(self, ds: xr.Dataset, ds_info: dict) -> xr.DataArray:
        raise NotImplementedError


class GPML1CFileHandler(_GPMGranuleFileHandler):
    """Brightness temperatures of a 1C (or 1C-R) granule, one dataset per registry channel."""

    variables = ("Tc",)

    def _dynamic_infos(self) -> Iterator[dict]:
        file_type = self.filetype_info["file_type"]
        yield from self._coordinate_infos(self._scan_modes)
        for mode in self._scan_modes:
            for channel in self.sensor.scan_modes[mode].channels:
                name = channel_dataset_name(self.sensor, channel)
                frequency = channel_frequency(channel)
                key = (
                    "frequency_double_sideband"
                    if isinstance(frequency, FrequencyDoubleSideBand)
                    else "frequency_range"
                )
                # A repeated label (AMSR2 S6) gets no frequency key: frequency queries then find
                # the first scan mode's channel instead of failing on a tie.
                identity = {key: frequency} if name == channel.label else {}
                yield {
                    "name": name,
                    **identity,
                    "polarization": channel.polarization,
                    "calibration": "brightness_temperature",
                    "scan_mode": mode,
                    "file_type": file_type,
                    "standard_name": "toa_brightness_temperature",
                    "units": "K",
                    "channel_label": channel.label,
                    "frequency": channel.frequency,
                    "sideband_offset": channel.offset,
                    "nedt": channel.nedt,
                    "incidence_angle": channel.incidence_angle,
                    "coordinates": [f"longitude_{mode}", f"latitude_{mode}"],
                }

    def _select(self, ds: xr.Dataset, ds_info: dict) -> xr.DataArray:
        tc = ds["Tc"].sel(pmw_frequency=ds_info["channel_label"])
        tc.attrs = dict(ds["Tc"].attrs)
        return tc


class GPMDPRL2AFileHandler(_GPMGranuleFileHandler):
    """2-D (cross_track, along_track) fields of a 2A-DPR granule (``precipRateNearSurface``...).

    Scan mode FS gives the plain variable names; HS (high-sensitivity Ka, V07) the names with an
    ``_HS`` suffix.
    """

    #: Scan modes exposed, in priority order; datasets of later modes get a ``_<mode>`` suffix.
    scan_mode_priority: tuple[str, ...] = DPR_SCAN_MODES

    def _dynamic_infos(self) -> Iterator[dict]:
        file_type = self.filetype_info["file_type"]
        modes = [m for m in self.scan_mode_priority if m in self._scan_modes]
        yield from self._coordinate_infos(modes)
        for i, mode in enumerate(modes):
            ds = self._scan_modes[mode]
            for var, array in ds.data_vars.items():
                if array.dims != ("cross_track", "along_track"):
                    continue
                yield {
                    "name": str(var) if i == 0 else f"{var}_{mode}",
                    "variable": str(var),
                    "scan_mode": mode,
                    "file_type": file_type,
                    "coordinates": [f"longitude_{mode}", f"latitude_{mode}"],
                }

    def _select(self, ds: xr.Dataset, ds_info: dict) -> xr.DataArray:
        return ds[ds_info["variable"]]
