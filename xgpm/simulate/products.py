"""Simulated products: 1C granules, 2A-DPR, IMERG-like half-hourly grids and a radar composite.

Entry points:

* :func:`simulate` yields :class:`SimulatedProduct` objects (xarray data, nothing on disk);
* :func:`simulate_to_disk` writes them (PPS HDF5 through :func:`xgpm.write_granule`, the radar
  composite as ODIM_H5 through :mod:`xgpm.io.odim`), resumably, with a ``catalog.csv``.

Every product is a deterministic function of the master seed and its own identity (sensor and
granule number, IMERG half hour, radar time step): the truth is the same world for all products
(seeded by the master seed), and each granule's noise comes from a generator seeded by
``(seed, product, granule)``. Re-running, resuming or asking for another time window therefore
gives identical files for the same granule.

Sensors and products are looked up in the registry (:mod:`xgpm.sensors`); nothing here branches on
a sensor name.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from xgpm._deprecated import moved_names
from xgpm.errors import InvalidArgumentError, UnknownSensorError
from xgpm.simulate import orbits
from xgpm.simulate._common import (
    _HALF_HOUR,
    SimulatedProduct,
    _crop,
    _minutes,
    _sensor,
    _time_window,
)
from xgpm.simulate.imerg import IMERG_CONSTELLATION, simulate_imerg
from xgpm.simulate.instruments import observe_platform
from xgpm.simulate.radar import RADAR_SITES, simulate_radar
from xgpm.simulate.regions import REGIONS, Region, get_region

__all__ = [
    "IMERG_CONSTELLATION",
    "REGIONS",
    "RADAR_SITES",
    "Region",
    "SimulatedProduct",
    "get_region",
    "simulate",
    "simulate_imerg",
    "simulate_radar",
    "simulate_to_disk",
]

# --------------------------------------------------------------------------------------------
# Product containers
# --------------------------------------------------------------------------------------------

_SPECIAL = ("imerg", "radar")


def _parse_requests(requested: Sequence[str] | str) -> tuple[list[Any], bool, bool]:
    if isinstance(requested, str):
        requested = [s for s in requested.split(",") if s.strip()]
    sensor_list, imerg, radar = [], False, False
    for item in requested:
        key = str(item).strip()
        if key.lower() == "imerg":
            imerg = True
        elif key.lower() == "radar":
            radar = True
        else:
            try:
                sensor_list.append(_sensor(key))
            except UnknownSensorError as err:
                raise UnknownSensorError(
                    f"{err} (the simulator also accepts {', '.join(_SPECIAL)})"
                ) from None
    if not sensor_list and not imerg and not radar:
        raise InvalidArgumentError("sensors is empty; pass e.g. ('gmi', 'dpr', 'imerg', 'radar')")
    return sensor_list, imerg, radar


# --------------------------------------------------------------------------------------------
# Orbit products (1C, 2A-DPR)
# --------------------------------------------------------------------------------------------


def _closest_approach(sensor: Any, task: Any, region: Region) -> np.datetime64:
    """Time the sub-satellite point is closest to the region centre (the truth time of a pass).

    It depends on the platform's orbit, the granule and the region only, so GMI and DPR (or a
    resumed run simulating only one of them) see the same truth.
    """
    model = orbits.orbit_model(sensor)
    times = pd.date_range(task.start, task.end, freq="5s").values
    lat, lon = model.subsatellite(times)
    clat, clon = region.center
    p = orbits._latlon_to_unit(lat, lon)
    c = orbits._latlon_to_unit(np.array(clat), np.array(clon))
    return times[int(np.argmax(p @ c))].astype("datetime64[s]").astype("datetime64[ns]")


def _platform_groups(sensor_list: Sequence[Any]) -> list[list[Any]]:
    groups: dict[tuple, list[Any]] = {}
    for s in sensor_list:
        orbit = s.orbit
        key = (s.pps_satellite, orbit.altitude_km, orbit.inclination_deg)
        groups.setdefault(key, []).append(s)
    return list(groups.values())


@dataclass
class _OrbitTask:
    sensors: list[Any]
    granule: int
    start: np.datetime64
    end: np.datetime64

    @property
    def products(self) -> list[str]:
        return [s.product for s in self.sensors]


def _orbit_tasks(sensor_list: Sequence[Any], t0: Any, t1: Any, region: Region) -> list[_OrbitTask]:
    tasks = []
    for group in _platform_groups(sensor_list):
        lead = group[0]
        for gr in orbits.granules(lead, t0, t1):
            if orbits.candidate_scans(lead, gr.number, region) is not None:
                tasks.append(_OrbitTask(list(group), gr.number, gr.start, gr.end))
    return sorted(tasks, key=lambda t: (t.start, t.products))


def _run_orbit_task(
    task: _OrbitTask,
    region: Region,
    seed: int,
    *,
    crop: bool,
    truth_res_km: float,
    only: Sequence[str] | None = None,
    truth_fn: Any = None,
    rtm_fn: Any = None,
) -> list[SimulatedProduct]:
    targets = []
    for sensor in task.sensors:
        if only is not None and sensor.product not in only:
            continue
        modes = None
        if sensor.kind == "radar":
            modes = [next(iter(sensor.scan_modes))]  # "FS"
        scans = orbits.candidate_scans(sensor, task.granule, region) if crop else None
        geom = orbits.swath_geometry(sensor, task.granule, scan_modes=modes, scans=scans)
        if crop:
            geom = _crop(geom, region)
        if geom is not None:
            targets.append((sensor, geom))
    if not targets:
        return []
    truth_time = _closest_approach(targets[0][0], task, region)
    results = observe_platform(
        targets,
        seed=seed,
        region=region,
        truth_res_km=truth_res_km,
        truth_time=truth_time,
        truth_fn=truth_fn,
        rtm_fn=rtm_fn,
    )
    out = []
    for (sensor, geom), data in zip(targets, results, strict=True):
        if data is None:
            continue
        out.append(
            SimulatedProduct(
                sensor.product, task.granule, geom.scan_times[0], geom.scan_times[-1], data
            )
        )
    return out


# --------------------------------------------------------------------------------------------
# Top level
# --------------------------------------------------------------------------------------------


def simulate(
    region: str | Region = "france",
    start: Any = "2021-01-01",
    days: float | None = 1.0,
    sensors: Sequence[str] | str = ("gmi", "ssmis-f17", "dpr", "imerg", "radar"),
    seed: int = 0,
    *,
    end: Any = None,
    crop: bool = True,
    truth_res_km: float = 2.5,
    imerg_run: str = "FR",
    radar_step: str = "5min",
    truth_fn: Any = None,
    rtm_fn: Any = None,
) -> Iterator[SimulatedProduct]:
    """Simulate the observing system over a region, yielding products one at a time (in memory).

    Parameters
    ----------
    region : str, Region or (lon_min, lon_max, lat_min, lat_max)
        A name from :data:`REGIONS` ("france", "conus", "tropical-pacific", ...) or a box.
    start : time-like
    days : float, optional
        Duration (ignored when ``end`` is given).
    sensors : sequence of str or comma-separated str
        Registry sensor names (case-insensitive: "gmi", "ssmis-f17", "dpr", "amsr2-gcomw1",
        "mhs-metopb", "atms-noaa20" ...) plus "imerg" and "radar".
    seed : int
        Master seed (truth and all noise derive from it).
    end : time-like, optional
    crop : bool
        Keep only the scans of each granule that cross the region (like a subsetted granule).
        False keeps the full orbit geometry (pixels outside the region are NaN).
    truth_res_km : float
        Resolution of the swath-aligned truth grid.
    imerg_run : {"FR", "LR", "ER"}
    radar_step : str
        Radar accumulation period.
    truth_fn, rtm_fn : callable, optional
        Replacements of :func:`xgpm.simulate.truth_scene` and
        :func:`xgpm.simulate.brightness_temperatures` (same signatures): a cheap synthetic world
        for tests and benchmarks of the observing system alone.

    Yields
    ------
    SimulatedProduct
        Swath products (in time order of their granules), then IMERG half hours, then radar steps.

    Examples
    --------
    >>> products = {(p.product, p.granule): p.data
    ...             for p in simulate("france", "2021-01-01", days=0.25, sensors="gmi,dpr")}
    """
    region = get_region(region)
    t0, t1 = _time_window(start, days, end)
    sensor_list, want_imerg, want_radar = _parse_requests(sensors)
    for task in _orbit_tasks(sensor_list, t0, t1, region):
        yield from _run_orbit_task(
            task,
            region,
            seed,
            crop=crop,
            truth_res_km=truth_res_km,
            truth_fn=truth_fn,
            rtm_fn=rtm_fn,
        )
    if want_imerg:
        yield from simulate_imerg(region, t0, t1, seed=seed, run=imerg_run, truth_fn=truth_fn)
    if want_radar:
        yield from simulate_radar(region, t0, t1, seed=seed, step=radar_step, truth_fn=truth_fn)


# --------------------------------------------------------------------------------------------
# Writing, resuming, catalog
# --------------------------------------------------------------------------------------------

CATALOG_COLUMNS = ("product", "path", "start", "end", "granule")


def _glob_pattern(product: str, granule: int, start: np.datetime64, version: str) -> str:
    """File-name glob of a product granule, independent of the cropped start/end times."""
    from xgpm.io.filenames import pps_filename

    t = pd.Timestamp(start).floor("s").to_pydatetime()
    name = pps_filename(product, t, t, granule, version)
    parts = name.split(".")
    # level.sat.instr.algo.YYYYMMDD-Shhmmss-Ehhmmss.granule.version.HDF5: orbit granules are
    # found by number (their cropped times vary); IMERG half hours by start time and minute.
    times = parts[4].split("-E")[0] + "-E*" if product.startswith("IMERG") else "*"
    return ".".join([*parts[:4], times, *parts[5:]])


def _radar_name(region: Region, start: np.datetime64, end: np.datetime64) -> str:
    t0, t1 = pd.Timestamp(start), pd.Timestamp(end)
    return f"RADAR-COMPOSITE.{region.name}.{t0:%Y%m%d-S%H%M%S}-E{t1:%H%M%S}.ACRR.h5"


def _is_valid(path: Path, product: str) -> bool:
    try:
        if product == "RADAR-COMPOSITE":
            from xgpm.io.odim import open_radar_composite

            open_radar_composite(path).load()
        else:
            from xgpm.io.read import open_granule

            ds = open_granule(path)
            ds.load()
        return True
    except Exception:  # noqa: BLE001 - any failure to open means "rewrite it"
        return False


def _existing(directory: Path, pattern: str, product: str) -> Path | None:
    for path in sorted(directory.glob(pattern)):
        if _is_valid(path, product):
            return path
        path.unlink()  # damaged or incomplete: rewrite
    return None


def _grid_of(ds: xr.Dataset, cls: Any) -> Any:
    """Rebuild the RadarGrid of a simulated composite from its x/y cell centres."""
    x, y = ds["x"].values, ds["y"].values
    xscale, yscale = float(x[1] - x[0]), float(y[0] - y[1])
    return cls(
        ds.attrs["projdef"],
        float(x[0] - xscale / 2),
        float(y[0] + yscale / 2),
        xscale,
        yscale,
        x.size,
        y.size,
    )


def _write(product: SimulatedProduct, directory: Path, region: Region, version: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    if product.product == "RADAR-COMPOSITE":
        from xgpm.io.odim import RadarGrid, write_radar_composite

        ds = product.data
        grid = _grid_of(ds, RadarGrid)
        return write_radar_composite(
            directory / _radar_name(region, product.start, product.end),
            ds["ACRR"].values[0],
            grid,
            product.start,
            product.end,
            quality=ds["quality"].values[0],
            overwrite=True,
        )
    from xgpm.io.write import write_granule

    return Path(
        write_granule(
            product.data,
            directory,
            product=product.product,
            granule_number=product.granule,
            version=version,
            overwrite=True,
        )
    )


def simulate_to_disk(
    out: str | os.PathLike,
    region: str | Region = "france",
    start: Any = "2021-01-01",
    days: float | None = 1.0,
    sensors: Sequence[str] | str = ("gmi", "ssmis-f17", "dpr", "imerg", "radar"),
    seed: int = 0,
    *,
    end: Any = None,
    crop: bool = True,
    truth_res_km: float = 2.5,
    imerg_run: str = "FR",
    radar_step: str = "5min",
    version: str = "V07A",
    progress: bool = True,
    truth_fn: Any = None,
    rtm_fn: Any = None,
) -> pd.DataFrame:
    """Simulate and write every product under ``out/<product>/``, resumably.

    Files already present that open completely are kept (and not recomputed); damaged ones are
    rewritten; temporary files of an interrupted run are ignored. A ``catalog.csv`` (product,
    path relative to ``out``, start, end, granule) lists every file of the requested window.

    Parameters
    ----------
    out : path-like
        Output directory (created).
    region, start, days, sensors, seed, end, crop, truth_res_km, imerg_run, radar_step
        As in :func:`simulate`.
    truth_fn, rtm_fn
        As in :func:`simulate`.
    version : str
        Product version in the PPS file names.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    pandas.DataFrame
        The catalog.
    """
    from tqdm.auto import tqdm

    region = get_region(region)
    t0, t1 = _time_window(start, days, end)
    sensor_list, want_imerg, want_radar = _parse_requests(sensors)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []

    def record(path: Path, product: str, start: Any, end: Any, granule: int) -> None:
        rows.append(
            {
                "product": product,
                "path": str(path.relative_to(out)),
                "start": pd.Timestamp(start).isoformat(),
                "end": pd.Timestamp(end).isoformat(),
                "granule": int(granule),
            }
        )

    orbit_tasks = _orbit_tasks(sensor_list, t0, t1, region)
    n_total = len(orbit_tasks)
    slots = []
    if want_imerg:
        first = t0.astype("datetime64[m]")
        first = first - np.mod(first.astype("int64"), 30).astype("timedelta64[m]")
        slots = list(np.arange(first.astype("datetime64[ns]"), t1, _HALF_HOUR))
        n_total += len(slots)
    radar_times = []
    if want_radar:
        dt = pd.Timedelta(radar_step).to_timedelta64().astype("timedelta64[ns]")
        first = t0 - np.mod((t0 - orbits.EPOCH).astype("int64"), dt.astype("int64")).astype(
            "timedelta64[ns]"
        )
        radar_times = list(np.arange(first, t1, dt))
        n_total += len(radar_times)
    bar = tqdm(total=n_total, desc="xgpm simulate", unit="file", disable=not progress)
    try:
        for task in orbit_tasks:
            missing = []
            for sensor in task.sensors:
                pattern = _glob_pattern(sensor.product, task.granule, task.start, version)
                found = _existing(out / sensor.product, pattern, sensor.product)
                if found is None:
                    missing.append(sensor.product)
                else:
                    found_start, found_end = _times_from_name(found, task)
                    record(found, sensor.product, found_start, found_end, task.granule)
            if missing:
                for prod in _run_orbit_task(
                    task,
                    region,
                    seed,
                    crop=crop,
                    truth_res_km=truth_res_km,
                    only=missing,
                    truth_fn=truth_fn,
                    rtm_fn=rtm_fn,
                ):
                    path = _write(prod, out / prod.product, region, version)
                    # Times as in the file name, like for files found on a resumed run.
                    record(path, prod.product, *_times_from_name(path, task), prod.granule)
            bar.update(1)
        if want_imerg:
            product = f"IMERG-{imerg_run}"
            todo = []
            for slot in slots:
                minute = int(_minutes(slot - slot.astype("datetime64[D]")))
                pattern = _glob_pattern(product, minute, slot, version)
                found = _existing(out / product, pattern, product)
                if found is None:
                    todo.append(slot)
                else:
                    record(found, product, slot, slot + _HALF_HOUR, minute)
                    bar.update(1)
            # Contiguous runs of missing half hours share one overpass computation.
            for chunk in _contiguous(todo, _HALF_HOUR):
                for prod in simulate_imerg(
                    region,
                    chunk[0],
                    chunk[-1] + _HALF_HOUR,
                    seed=seed,
                    run=imerg_run,
                    truth_fn=truth_fn,
                ):
                    path = _write(prod, out / prod.product, region, version)
                    record(path, prod.product, prod.start, prod.end, prod.granule)
                    bar.update(1)
        if want_radar:
            for ts in radar_times:
                name = _radar_name(region, ts, ts + dt)
                path = out / "RADAR-COMPOSITE" / name
                if not (path.exists() and _is_valid(path, "RADAR-COMPOSITE")):
                    prod = next(simulate_radar(region, ts, ts + dt, seed=seed, step=radar_step))
                    path = _write(prod, out / "RADAR-COMPOSITE", region, version)
                record(path, "RADAR-COMPOSITE", ts, ts + dt, int(_minutes(ts - orbits.EPOCH)))
                bar.update(1)
    finally:
        bar.close()
        catalog = pd.DataFrame(rows, columns=list(CATALOG_COLUMNS))
        _write_catalog(catalog, out / "catalog.csv")
    return catalog


def _contiguous(times: Sequence[np.datetime64], step: np.timedelta64) -> list[list[np.datetime64]]:
    chunks: list[list[np.datetime64]] = []
    for t in times:
        if chunks and t - chunks[-1][-1] == step:
            chunks[-1].append(t)
        else:
            chunks.append([t])
    return chunks


def _times_from_name(path: Path, task: _OrbitTask) -> tuple[Any, Any]:
    try:
        from xgpm.io.filenames import parse_filename

        parsed = parse_filename(path)
        return parsed.start, parsed.end
    except Exception:  # noqa: BLE001
        return task.start, task.end


def _write_catalog(catalog: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    catalog.to_csv(tmp, index=False, quoting=csv.QUOTE_MINIMAL)
    os.replace(tmp, path)


# Private helpers that moved with the IMERG and radar simulators (public names are re-exported
# above and stay in __all__).
__getattr__ = moved_names(
    __name__,
    {
        **dict.fromkeys(
            (
                "_imerg_axes",
                "_truth_grid_mean",
                "_MORPH_HORIZON",
                "_Overpass",
                "_overpass_coverage",
                "_constellation_overpasses",
                "_blur",
                "_imerg_slot",
                "_mw_dt",
            ),
            "xgpm.simulate.imerg",
        ),
        **dict.fromkeys(("_RADAR_MAX_RANGE_KM", "_radar_quality_fields"), "xgpm.simulate.radar"),
        "_default_truth": "xgpm.simulate._common",
    },
)
