"""Paired simulated scenes for domain adaptation: one truth, seen by a radiometer and by GMI.

Training and, above all, *evaluating* a translation to pseudo-GMI needs scenes where the same
atmosphere was observed at the same time by the source radiometer (SSMIS, AMSR2 ...) and by
GMI, with a radar reference on the GMI swath. Real GMI/SSMIS crossings within minutes are rare
(a few per day over the whole globe, and they overlap on a small part of either swath), so
xgpm builds **virtual** pairs with its simulator:

* a **virtual GMI** (and a **virtual DPR**) flying on the *source* platform's orbit: the
  registry's GMI and DPR sensors (channels, footprints, noise, scan period, swath width) with
  the platform, PPS satellite token and orbit of the source sensor replaced
  (:func:`virtual_sensor`, :func:`dataclasses.replace`). They share the source's ground track,
  its swath coordinates and its granule numbers;
* all three are observed together by :func:`xgpm.simulate.instruments.observe_platform`, so
  they are sampled from **one truth grid** at one truth time (the time the platform is closest
  to the region's centre, as :func:`xgpm.simulate.simulate` does).

The virtual GMI keeps GMI's own 885 km swath and 221 pixels per scan: it covers the central
part of the source swath (SSMIS: 1707 km), at GMI's pixel spacing. Its footprints, its channel
set and its noise are GMI's; only the altitude differs (840 km instead of 407 km for DMSP), which
changes the incidence-to-scan geometry slightly but not the footprints, which the registry gives
on the ground. This is the "same truth, same time" pairing the evaluation needs; it is not a
real GMI observation.

Datasets are in the data model of :func:`xgpm.open_granule`: the source and GMI as merged 1C
swaths (every channel on the widest scan mode, :func:`xgpm.io.read.merge_scan_modes`), the DPR as
its ``FS`` swath.

:data:`TRAINING_WINDOWS` and :data:`EVALUATION_WINDOWS` fix the days translation models are
fitted on and the days they are evaluated on (disjoint: 2021 and 2022; DRAIN was trained on
2021 days only, so DRAIN on the true GMI is not scored on its training data either).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from xgpm.errors import InvalidArgumentError

__all__ = [
    "EVALUATION_WINDOWS",
    "TRAINING_WINDOWS",
    "PairedScene",
    "Window",
    "cached_paired_scenes",
    "load_scene",
    "paired_scenes",
    "paired_scenes_windows",
    "save_scene",
    "simulator_version",
    "virtual_sensor",
]


@dataclass(frozen=True)
class Window:
    """A simulation window: a region (``xgpm.simulate.REGIONS`` name), a start and a length."""

    region: str
    start: str
    days: float

    def __str__(self) -> str:
        return f"{self.region} {self.start} (+{self.days:g} d)"


_REGIONS = ("conus", "france", "tropical-atlantic", "tropical-pacific")

#: Windows translation models are fitted on (2021; one per season and region).
TRAINING_WINDOWS: tuple[Window, ...] = tuple(
    Window(region, start, 2.0)
    for region in _REGIONS
    for start in ("2021-01-12", "2021-04-12", "2021-07-12", "2021-10-12")
)

#: Held-out windows of the to_gmi evaluation (2022, one per season and region; DRAIN was
#: trained on 2021 only, and 2022-02-15 / 2022-08-15 are its own held-out windows).
EVALUATION_WINDOWS: tuple[Window, ...] = tuple(
    Window(region, start, 2.0)
    for region in _REGIONS
    for start in ("2022-02-15", "2022-05-15", "2022-08-15", "2022-11-15")
)


@dataclass
class PairedScene:
    """One overpass of a region seen by a source radiometer, a virtual GMI and a virtual DPR.

    Attributes
    ----------
    source : Dataset
        The source radiometer's merged 1C swath (``Tc`` on cross_track, along_track,
        pmw_frequency; lon/lat/time), cropped to the scans crossing the region; pixels outside
        the region are NaN.
    gmi : Dataset
        The virtual GMI's merged 1C swath (13 channels) on the same ground track and times.
    dpr : Dataset or None
        The virtual DPR's 2A ``FS`` swath (``precipRateNearSurface`` mm/h, ``typePrecip``), or
        None when not asked for or when it misses the region.
    source_sensor : str
        Registry name of the source sensor (``SSMIS-F17``).
    granule : int
        Orbit number of the source platform.
    region : str
        Region name.
    truth_time : numpy.datetime64
        Time of the shared truth scene.
    seed : int
        Master seed of the simulation.
    """

    source: xr.Dataset
    gmi: xr.Dataset
    dpr: xr.Dataset | None
    source_sensor: str
    granule: int
    region: str
    truth_time: np.datetime64
    seed: int

    @property
    def key(self) -> str:
        """A file-name-safe identifier (``ssmis-f17_conus_g123456_s0``)."""
        return f"{self.source_sensor.lower()}_{self.region}_g{self.granule}_s{self.seed}"


def virtual_sensor(name: str, platform_of: str) -> Any:
    """The registry sensor ``name`` flying on the platform (and orbit) of ``platform_of``.

    Parameters
    ----------
    name : str
        Sensor to move (``"GMI"``, ``"DPR"``).
    platform_of : str
        Sensor whose platform lends its orbit (``"SSMIS-F17"``).

    Returns
    -------
    xgpm.sensors.Sensor
        A copy of ``name`` with ``platform``, ``pps_satellite`` and ``orbit`` of ``platform_of``;
        its name, channels, footprints, noise, scan geometry and product stay ``name``'s.
    """
    from xgpm import sensors

    moved, host = sensors.get(name), sensors.get(platform_of)
    return dataclasses.replace(
        moved, platform=host.platform, pps_satellite=host.pps_satellite, orbit=host.orbit
    )


def _truth_time(sensor: Any, granule: Any, region: Any) -> np.datetime64:
    from xgpm.simulate.products import _closest_approach

    return _closest_approach(sensor, granule, region)


def _merged(data: dict[str, xr.Dataset], attrs: dict[str, Any]) -> xr.Dataset:
    from xgpm.io.read import merge_scan_modes

    ds = merge_scan_modes(data) if len(data) > 1 else next(iter(data.values()))
    ds = ds.copy()
    ds.attrs.update(attrs)
    return ds


def paired_scenes(
    region: str = "conus",
    start: Any = "2022-02-15",
    days: float = 1.0,
    source: str = "ssmis-f17",
    seed: int = 0,
    *,
    dpr: bool = True,
    progress: bool = True,
    min_pixels: int = 2000,
    truth_res_km: float = 2.5,
    truth_fn: Any = None,
    rtm_fn: Any = None,
) -> Iterator[PairedScene]:
    """Simulated overpasses of a region seen together by ``source``, a virtual GMI and DPR.

    Parameters
    ----------
    region : str, Region or (lon_min, lon_max, lat_min, lat_max)
        Simulation region (``xgpm.simulate.REGIONS`` name or a box).
    start : time-like
        Start of the window.
    days : float
        Length of the window.
    source : str
        Registry name of the source radiometer (``"ssmis-f17"``, ``"amsr2-gcomw1"`` ...).
    seed : int
        Master seed (truth and noise).
    dpr : bool
        Also observe with a virtual DPR (the rain reference of the evaluation).
    progress : bool
        Show a tqdm progress bar over the candidate granules.
    min_pixels : int
        Skip overpasses where the virtual GMI has fewer valid pixels than this (grazing passes).
    truth_res_km : float
        Spacing of the shared truth grid (km).
    truth_fn, rtm_fn : callable, optional
        Cheap replacements of the truth and radiative transfer (tests), as in
        :func:`xgpm.simulate.simulate`.

    Yields
    ------
    PairedScene
        One per granule of the source platform crossing the region, in time order.

    Raises
    ------
    InvalidArgumentError
        ``source`` is not a radiometer, or the window is empty.
    UnknownSensorError
        ``source`` is not in the registry.
    """
    from xgpm import sensors
    from xgpm.simulate import orbits
    from xgpm.simulate._common import _crop, _time_window
    from xgpm.simulate.instruments import observe_platform
    from xgpm.simulate.regions import get_region

    src = sensors.get(source)
    if src.kind != "radiometer":
        raise InvalidArgumentError(
            f"paired_scenes: source={source!r} is a {src.kind}; pass a radiometer such as "
            "'ssmis-f17' or 'amsr2-gcomw1'"
        )
    region_obj = get_region(region)
    t0, t1 = _time_window(start, days, None)
    gmi = virtual_sensor("GMI", src.name)
    radar = virtual_sensor("DPR", src.name) if dpr else None
    candidates = [
        g for g in orbits.granules(src, t0, t1) if orbits.candidate_scans(src, g.number, region_obj)
    ]
    iterator: Any = candidates
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(candidates, desc=f"paired {src.name}/GMI {region_obj.name}", unit="pass")
    for granule in iterator:
        targets = []
        for sensor in (src, gmi, radar):
            if sensor is None:
                continue
            modes = [next(iter(sensor.scan_modes))] if sensor.kind == "radar" else None
            scans = orbits.candidate_scans(sensor, granule.number, region_obj)
            if scans is None:
                targets.append((sensor, None))
                continue
            geom = orbits.swath_geometry(sensor, granule.number, scan_modes=modes, scans=scans)
            targets.append((sensor, _crop(geom, region_obj)))
        if targets[0][1] is None or targets[1][1] is None:
            continue  # the source or the GMI swath misses the region
        observed = [(s, g) for s, g in targets if g is not None]
        truth_time = _truth_time(src, granule, region_obj)
        results = observe_platform(
            observed,
            seed=seed,
            region=region_obj,
            truth_res_km=truth_res_km,
            truth_time=truth_time,
            truth_fn=truth_fn,
            rtm_fn=rtm_fn,
        )
        by_name = {s.name: r for (s, _), r in zip(observed, results, strict=True)}
        src_data, gmi_data = by_name.get(src.name), by_name.get(gmi.name)
        if src_data is None or gmi_data is None:
            continue
        common = {
            "xgpm_paired_scene": f"{src.name}/GMI/DPR {region_obj.name} granule {granule.number}",
            "xgpm_truth_time": str(truth_time),
            "xgpm_seed": int(seed),
        }
        gmi_ds = _merged(
            gmi_data,
            {
                **common,
                "xgpm_virtual_platform": src.platform,
                "title": f"virtual GMI on the {src.platform} orbit (simulated)",
            },
        )
        n_valid = int(np.isfinite(gmi_ds["Tc"].sel(pmw_frequency="89V")).sum())
        if n_valid < min_pixels:
            continue
        dpr_ds = None
        if radar is not None and by_name.get(radar.name) is not None:
            dpr_ds = next(iter(by_name[radar.name].values())).copy()
            dpr_ds.attrs.update(common, xgpm_virtual_platform=src.platform)
        yield PairedScene(
            source=_merged(src_data, common),
            gmi=gmi_ds,
            dpr=dpr_ds,
            source_sensor=src.name,
            granule=int(granule.number),
            region=region_obj.name,
            truth_time=truth_time,
            seed=int(seed),
        )


def paired_scenes_windows(
    windows: Sequence[Window],
    source: str = "ssmis-f17",
    seed: int = 0,
    **kwargs: Any,
) -> Iterator[PairedScene]:
    """:func:`paired_scenes` over several windows (e.g. :data:`TRAINING_WINDOWS`)."""
    for window in windows:
        yield from paired_scenes(
            window.region, window.start, window.days, source=source, seed=seed, **kwargs
        )


# ------------------------------------------------------------------------------------------
# cache on disk (resumable evaluation and training runs)
# ------------------------------------------------------------------------------------------

_PARTS = ("source", "gmi", "dpr")


def _netcdf_safe(ds: xr.Dataset) -> xr.Dataset:
    out = ds.copy()
    for obj in (out, *out.variables.values()):
        for key, value in list(obj.attrs.items()):
            if isinstance(value, (list, tuple, dict, bool)) or value is None:
                obj.attrs[key] = str(value)
    if "pmw_frequency" in out.coords:
        out = out.assign_coords(pmw_frequency=out["pmw_frequency"].values.astype(str))
    return out


def save_scene(scene: PairedScene, directory: Any) -> Path:
    """Write a :class:`PairedScene` as NetCDF files ``<key>.<part>.nc`` plus ``<key>.json``.

    Returns
    -------
    Path
        The JSON file (written last: its presence marks a complete scene).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for part in _PARTS:
        ds = getattr(scene, part)
        if ds is not None:
            _netcdf_safe(ds).to_netcdf(directory / f"{scene.key}.{part}.nc", engine="h5netcdf")
    meta = {
        "source_sensor": scene.source_sensor,
        "granule": scene.granule,
        "region": scene.region,
        "truth_time": str(scene.truth_time),
        "seed": scene.seed,
        "parts": [p for p in _PARTS if getattr(scene, p) is not None],
    }
    path = directory / f"{scene.key}.json"
    path.write_text(json.dumps(meta, indent=1))
    return path


def load_scene(path: Any) -> PairedScene:
    """Read a scene written by :func:`save_scene` (``path``: its JSON file); data loaded eagerly."""
    path = Path(path)
    meta = json.loads(path.read_text())
    stem = path.with_suffix("")
    parts: dict[str, xr.Dataset | None] = {}
    for part in _PARTS:
        if part in meta["parts"]:
            with xr.open_dataset(f"{stem}.{part}.nc", engine="h5netcdf") as ds:
                parts[part] = ds.load()
        else:
            parts[part] = None
    return PairedScene(
        source=parts["source"],
        gmi=parts["gmi"],
        dpr=parts["dpr"],
        source_sensor=meta["source_sensor"],
        granule=int(meta["granule"]),
        region=meta["region"],
        truth_time=np.datetime64(meta["truth_time"], "ns"),
        seed=int(meta["seed"]),
    )


def simulator_version() -> str:
    """The simulator's version (:data:`xgpm.simulate.SIMULATOR_VERSION`), read at call time.

    Every cache of simulated data in :mod:`xgpm.translate` is keyed by it.
    """
    import xgpm.simulate

    return str(xgpm.simulate.SIMULATOR_VERSION)


#: Name of the JSON stamp written in each cached window folder.
STAMP = "stamp.json"


def _stamp_matches(folder: Path, stamp: dict[str, Any]) -> bool:
    """Whether ``folder`` holds a complete window written under ``stamp`` (same simulator)."""
    if not (folder / "done").is_file():
        return False
    try:
        return json.loads((folder / STAMP).read_text()) == stamp
    except (OSError, ValueError):
        return False


def cached_paired_scenes(
    windows: Sequence[Window],
    cache: Any,
    source: str = "ssmis-f17",
    seed: int = 0,
    **kwargs: Any,
) -> Iterator[PairedScene]:
    """:func:`paired_scenes_windows` through a disk cache: a window simulated once is read back.

    Each window's scenes go to
    ``cache/sim<SIMULATOR_VERSION>/<source>_<region>_<start>_<days>d_s<seed>/``, with a
    ``stamp.json`` (simulator version, source, window, seed) checked on read: a window written
    by another simulator version is never read back, it is simulated again. A ``done`` file
    marks a complete window, so an interrupted run resumes at the first window not done
    (scenes of a partly done window are simulated again).
    """
    version = simulator_version()
    for window in windows:
        name = f"{source.lower()}_{window.region}_{window.start}_{window.days:g}d_s{seed}"
        folder = Path(cache) / f"sim{version}".replace(":", "") / name.replace(":", "")
        stamp = {
            "simulator_version": version,
            "source": source.lower(),
            "window": str(window),
            "seed": seed,
        }
        if not _stamp_matches(folder, stamp):
            if folder.exists():
                for stale in folder.iterdir():
                    if stale.is_file():
                        stale.unlink()
            folder.mkdir(parents=True, exist_ok=True)
            for scene in paired_scenes(
                window.region, window.start, window.days, source=source, seed=seed, **kwargs
            ):
                save_scene(scene, folder)
            (folder / STAMP).write_text(json.dumps(stamp, indent=1))
            (folder / "done").write_text("complete\n")
        for meta in sorted(folder.glob("*.json")):
            if meta.name != STAMP:
                yield load_scene(meta)
