"""Bad input to the compute functions: a clear xgpm error (or warning), never a raw exception.

Each case calls rainrate, to_gmi, colocate, score, reference_for, BRAIN, the learned scorer
(``ds.gpm.score()`` without a reference), the matchup builders or the evaluation functions with
one wrong argument or implausible data, and checks the error class (an ``XGPMError`` subclass)
and that the message names the argument (or variable) at fault. Inputs are tiny and simulated
in-process; the expensive ones are module-scoped.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest
import xarray as xr

torch = pytest.importorskip("torch")

import xgpm  # noqa: E402, F401 - registers the accessor
from xgpm import matchups, models  # noqa: E402
from xgpm.colocation import colocate  # noqa: E402
from xgpm.colocation._testing import dpr_orbit, gmi_orbit, ssmis_orbit  # noqa: E402
from xgpm.errors import (  # noqa: E402
    DataQualityWarning,
    InvalidArgumentError,
    InvalidDataError,
    MissingChannelsError,
    NoOverlapError,
    ProjectionError,
    XGPMError,
)
from xgpm.models._testing import register_random_unet  # noqa: E402
from xgpm.models.brain import BrainRetrieval  # noqa: E402
from xgpm.retrieve import rainrate  # noqa: E402
from xgpm.translate import to_gmi  # noqa: E402
from xgpm.verify import reference, score  # noqa: E402
from xgpm.verify import retrieval as evaluate  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = "tiny-unet-bad-input"
BRAIN = "brain-bad-input"
CHANNELS = ["37V", "37H", "89V", "89H"]
SSMIS = ["19V", "19H", "22V", "37V", "37H", "150H", "183H1", "183H3", "183H7", "91V", "91H"]


# ------------------------------------------------------------------------------------------
# small inputs
# ------------------------------------------------------------------------------------------
def _gmi_tb(rows: int = 16, cols: int = 20, seed: int = 0) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    tb = rng.normal(255.0, 20.0, (rows, cols, len(CHANNELS))).astype(np.float32)
    return xr.Dataset(
        {"Tc": (("cross_track", "along_track", "pmw_frequency"), tb)},
        coords={
            "pmw_frequency": CHANNELS,
            "lat": (("cross_track", "along_track"), rng.uniform(-60, 60, (rows, cols))),
            "lon": (("cross_track", "along_track"), rng.uniform(-180, 180, (rows, cols))),
            "time": ("along_track", np.arange(cols).astype("datetime64[s]").astype("M8[ns]")),
        },
        attrs={"gpm_api_product": "1C-GMI"},
    )


def _ssmis(n_scans: int = 8, n_pixels: int = 12) -> xr.Dataset:
    geo = ssmis_orbit(n_scans, n_pixels)
    rng = np.random.default_rng(1)
    tb = rng.normal(240.0, 15.0, (n_pixels, n_scans, len(SSMIS))).astype(np.float32)
    return (
        geo.drop_vars("Tc")
        .assign(Tc=(("cross_track", "along_track", "pmw_frequency"), tb))
        .assign_coords(pmw_frequency=SSMIS)
        .assign_attrs(xgpm_sensor="SSMIS-F17")
    )


def _crossing_pair() -> tuple[xr.Dataset, xr.Dataset]:
    """A GMI-like source and an SSMIS-like target that cross near (lon 10, lat 20)."""
    src = gmi_orbit(120, 45, start_arg_lat_deg=10.0, ascending_node_lon_deg=0.0)
    tgt = ssmis_orbit(
        60, 30, ascending_node_lon_deg=19.0, start_arg_lat_deg=10.0, start_time="2020-01-01T00:01"
    )
    return src, tgt


def _rain_fields() -> tuple[xr.DataArray, xr.DataArray]:
    rng = np.random.default_rng(0)
    ref = xr.DataArray(
        rng.gamma(0.3, 2.0, (3, 12, 12)),
        dims=("time", "lat", "lon"),
        coords={
            "time": pd.date_range("2021-06-01", periods=3, freq="30min"),
            "lat": np.arange(12.0),
            "lon": np.arange(12.0),
        },
        attrs={"units": "mm/h"},
    )
    return ref * 1.2, ref


def _radar() -> tuple[xr.Dataset, xr.Dataset]:
    from xgpm.io import odim

    grid = odim.france_1km().cut(46.5, 2.5, 40.0)
    lon, lat = grid.lonlat()
    times = pd.date_range("2021-06-01T00:00", periods=6, freq="5min")
    composite = xr.Dataset(
        {
            "ACRR": (
                ("time", "y", "x"),
                np.full((6, grid.ysize, grid.xsize), 0.1, "float32"),
                {"units": "mm"},
            )
        },
        coords={
            "time": times.values,
            "time_end": ("time", (times + pd.Timedelta("5min")).values),
            "x": grid.x,
            "y": grid.y,
            "lon": (("y", "x"), lon),
            "lat": (("y", "x"), lat),
        },
        attrs={"projdef": grid.projdef},
    )
    imerg = xr.Dataset(
        coords={
            "time": pd.date_range("2021-06-01T00:00", periods=2, freq="30min").values,
            "lat": np.round(np.arange(46.25, 46.8, 0.1), 2),
            "lon": np.round(np.arange(2.15, 2.9, 0.1), 2),
        }
    )
    return composite, imerg


def _scorer_imerg(n: int = 2) -> xr.Dataset:
    grid = models.card("scorer").raw["grid"]
    rng = np.random.default_rng(0)
    shape = (n, grid["height"], grid["width"])
    dims = ("time", "lat", "lon")
    return xr.Dataset(
        {
            "precipitation": (dims, rng.gamma(0.5, 2.0, shape)),
            "precipitationQualityIndex": (dims, rng.uniform(0, 1, shape)),
            "IRinfluence": (dims, rng.uniform(0, 100, shape)),
            "MWprecipSource": (dims, rng.integers(0, 3, shape)),
        },
        coords={
            "time": pd.date_range("2021-06-01", periods=n, freq="30min"),
            "lat": grid["lat_first"] + 0.1 * np.arange(grid["height"]),
            "lon": grid["lon_first"] + 0.1 * np.arange(grid["width"]),
        },
    )


def _gmi_3ch(n_scans: int = 10) -> xr.Dataset:
    g = gmi_orbit(n_scans=n_scans, start_arg_lat_deg=10.0)
    tc = np.stack([g["Tc"].values + 10.0 * i for i in range(3)], axis=-1)
    return (
        g.drop_vars("Tc")
        .assign(Tc=(("cross_track", "along_track", "pmw_frequency"), tc))
        .assign_coords(pmw_frequency=["37V", "89V", "89H"])
    )


def _dpr(n_scans: int = 20) -> xr.Dataset:
    d = dpr_orbit(n_scans=n_scans, start_arg_lat_deg=10.0)
    rain = np.ones(d["lon"].shape, "float32")
    return d.drop_vars("Tc").assign(precipRateNearSurface=(d["lon"].dims, rain))


def _with_lat(ds: xr.Dataset, value: float, n: int) -> xr.Dataset:
    lat = ds["lat"].values.copy()
    lat.flat[:n] = value
    return ds.assign_coords(lat=(ds["lat"].dims, lat))


@pytest.fixture(scope="module")
def data() -> Any:
    """Every small input, built once; the tiny U-Net and a small BRAIN registered."""
    register_random_unet(TINY, architecture={"base_channels": 4, "depth": 2}, seed=0)
    rng = np.random.default_rng(2)
    db_tb = rng.normal(255, 20, (300, 4))
    brain = BrainRetrieval([4.0] * 4, n_neighbours=20).fit(
        db_tb, np.clip(265 - db_tb[:, 2], 0, None) / 5, rng.integers(0, 2, 300)
    )
    document = models.card("brain").to_dict()
    document.update(name=BRAIN, weights=None)
    document["inputs"]["channels"] = CHANNELS
    models.register(document, module=brain, overwrite=True)
    src, tgt = _crossing_pair()
    fc, ref = _rain_fields()
    composite, imerg = _radar()
    gmi = _gmi_tb()
    types = xr.DataArray(rng.integers(0, 2, (16, 20)), dims=("cross_track", "along_track"))
    yield {
        "gmi": gmi,
        "gmi_brain": gmi.assign(surface_type=types),
        "ssmis": _ssmis(),
        "src": src,
        "tgt": tgt,
        "fc": fc,
        "ref": ref,
        "composite": composite,
        "imerg": imerg,
        "scorer": _scorer_imerg(),
        "gmi3": _gmi_3ch(),
        "dpr": _dpr(),
        "swath_rain": xr.DataArray(
            rng.gamma(0.3, 2.0, (40, 40)), dims=("cross_track", "along_track")
        ),
    }
    models.unregister(TINY)
    models.unregister(BRAIN)


# ------------------------------------------------------------------------------------------
# the cases: (error class, words the message must contain, call)
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    error: type[XGPMError]
    words: tuple[str, ...]
    call: Callable[[dict], Any]


def _celsius(ds: xr.Dataset) -> xr.Dataset:
    return ds.assign(Tc=ds["Tc"] - 273.15)


def _shift_time(ds: xr.Dataset, days: int) -> xr.Dataset:
    return ds.assign_coords(time=ds["time"] + np.timedelta64(days, "D"))


CASES: dict[str, Case] = {
    # --- rainrate: implausible brightness temperatures ------------------------------------
    "rainrate-celsius": Case(
        InvalidDataError,
        ("'Tc'", "37V", "Celsius", "273.15", "pixel"),
        lambda d: rainrate(_celsius(d["gmi"]), TINY),
    ),
    "rainrate-all-zero": Case(
        InvalidDataError,
        ("'Tc'", "every value is 0", "fill"),
        lambda d: rainrate(d["gmi"].assign(Tc=d["gmi"]["Tc"] * 0), TINY),
    ),
    "rainrate-scaled-integers": Case(
        InvalidDataError,
        ("'Tc'", "scaled integers", "scale_factor"),
        lambda d: rainrate(d["gmi"].assign(Tc=d["gmi"]["Tc"] * 100), TINY),
    ),
    "rainrate-undecoded-fill": Case(
        InvalidDataError,
        ("'Tc'", "-9999.9", "fill values"),
        lambda d: rainrate(
            d["gmi"].assign(Tc=d["gmi"]["Tc"].where(d["gmi"]["Tc"] > 250, -9999.9)), TINY
        ),
    ),
    "rainrate-dataarray-celsius": Case(
        InvalidDataError,
        ("'Tc'", "Celsius"),
        lambda d: rainrate(_celsius(d["gmi"])["Tc"], TINY),
    ),
    # --- rainrate: arguments ---------------------------------------------------------------
    "rainrate-quantiles-string": Case(
        InvalidArgumentError,
        ("quantiles=", "(0, 1)"),
        lambda d: rainrate(d["gmi"], TINY, quantiles="median"),
    ),
    "rainrate-quantiles-above-one": Case(
        InvalidArgumentError,
        ("quantiles=", "(0, 1)"),
        lambda d: rainrate(d["gmi"], TINY, quantiles=[1.5]),
    ),
    "rainrate-quantiles-not-in-card": Case(
        InvalidArgumentError,
        ("quantiles", "0.3"),
        lambda d: rainrate(d["gmi"], TINY, quantiles=[0.3]),
    ),
    "rainrate-chunks-negative": Case(
        InvalidArgumentError,
        ("chunks['along_track']", "positive int"),
        lambda d: rainrate(d["gmi"], TINY, chunks={"along_track": -5}),
    ),
    "rainrate-chunks-zero": Case(
        InvalidArgumentError,
        ("chunks['along_track']",),
        lambda d: rainrate(d["gmi"], TINY, chunks={"along_track": 0}),
    ),
    "rainrate-chunks-float": Case(
        InvalidArgumentError,
        ("chunks['cross_track']",),
        lambda d: rainrate(d["gmi"], TINY, chunks={"cross_track": 2.5}),
    ),
    "rainrate-chunks-list": Case(
        InvalidArgumentError,
        ("chunks must be",),
        lambda d: rainrate(d["gmi"], TINY, chunks=[3]),
    ),
    "rainrate-batch-size-string": Case(
        InvalidArgumentError,
        ("batch_size",),
        lambda d: rainrate(d["gmi"], TINY, batch_size="4"),
    ),
    "rainrate-batch-size-zero": Case(
        InvalidArgumentError,
        ("batch_size",),
        lambda d: rainrate(d["gmi"], TINY, batch_size=0),
    ),
    "rainrate-tile-string": Case(
        InvalidArgumentError,
        ("tile",),
        lambda d: rainrate(d["gmi"], TINY, tile="big"),
    ),
    "rainrate-device-unknown": Case(
        InvalidArgumentError,
        ("device='gpu0'", "'cpu'"),
        lambda d: rainrate(d["gmi"], TINY, device="gpu0"),
    ),
    "rainrate-device-int": Case(
        InvalidArgumentError,
        ("device=5",),
        lambda d: rainrate(d["gmi"], TINY, device=5),
    ),
    "rainrate-model-int": Case(InvalidArgumentError, ("model",), lambda d: rainrate(d["gmi"], 3)),
    "rainrate-model-not-retrieval": Case(
        InvalidArgumentError,
        ("'scorer'", "retrieval"),
        lambda d: rainrate(d["gmi"], "scorer"),
    ),
    "rainrate-variable-list": Case(
        InvalidArgumentError,
        ("variable",),
        lambda d: rainrate(d["gmi"], TINY, variable=["Tc"]),
    ),
    "rainrate-datatree": Case(
        InvalidArgumentError,
        ("DataTree", "open_granule"),
        lambda d: rainrate(xr.DataTree(d["gmi"]), TINY),
    ),
    "rainrate-no-pmw-frequency-dim": Case(
        InvalidArgumentError,
        ("'pmw_frequency'",),
        lambda d: rainrate(d["gmi"].isel(pmw_frequency=0), TINY),
    ),
    "rainrate-no-channel-labels": Case(
        MissingChannelsError,
        ("37V", "lacks"),
        lambda d: rainrate(d["gmi"].drop_vars("pmw_frequency"), TINY),
    ),
    "rainrate-empty-swath": Case(
        InvalidArgumentError,
        ("'Tc'", "no pixels", "along_track"),
        lambda d: rainrate(d["gmi"].isel(along_track=slice(0, 0)), TINY),
    ),
    "rainrate-text-values": Case(
        InvalidArgumentError,
        ("'Tc'", "dtype"),
        lambda d: rainrate(d["gmi"].assign(Tc=d["gmi"]["Tc"].astype(str)), TINY),
    ),
    # --- BRAIN (numpy model, same engine) --------------------------------------------------
    "brain-celsius": Case(
        InvalidDataError,
        ("'Tc'", "Celsius", BRAIN),
        lambda d: rainrate(_celsius(d["gmi_brain"]), BRAIN),
    ),
    "brain-scaled-integers": Case(
        InvalidDataError,
        ("'Tc'", "scaled integers"),
        lambda d: rainrate(d["gmi_brain"].assign(Tc=d["gmi_brain"]["Tc"] * 100), BRAIN),
    ),
    "brain-surface-type-missing": Case(
        InvalidArgumentError,
        ("surface_type='nope'",),
        lambda d: rainrate(d["gmi_brain"], BRAIN, surface_type="nope"),
    ),
    "brain-surface-type-numpy": Case(
        InvalidArgumentError,
        ("surface_type", "DataArray"),
        lambda d: rainrate(d["gmi_brain"], BRAIN, surface_type=np.zeros((16, 20))),
    ),
    "brain-batch-size": Case(
        InvalidArgumentError,
        ("batch_size",),
        lambda d: rainrate(d["gmi_brain"], BRAIN, batch_size=-1),
    ),
    # --- to_gmi ---------------------------------------------------------------------------
    "to_gmi-celsius": Case(
        InvalidDataError,
        ("'Tc'", "to_gmi", "Celsius", "91V"),
        lambda d: to_gmi(_celsius(d["ssmis"]), "identity"),
    ),
    "to_gmi-scaled-integers": Case(
        InvalidDataError,
        ("'Tc'", "scaled integers"),
        lambda d: to_gmi(d["ssmis"].assign(Tc=d["ssmis"]["Tc"] * 100), "identity"),
    ),
    "to_gmi-all-zero": Case(
        InvalidDataError,
        ("'Tc'", "every value is 0"),
        lambda d: to_gmi(d["ssmis"].assign(Tc=d["ssmis"]["Tc"] * 0), "identity"),
    ),
    "to_gmi-dataarray": Case(
        InvalidArgumentError,
        ("to_gmi", "DataArray", "to_dataset"),
        lambda d: to_gmi(d["ssmis"]["Tc"], "identity"),
    ),
    "to_gmi-datatree": Case(
        InvalidArgumentError,
        ("to_gmi", "DataTree"),
        lambda d: to_gmi(xr.DataTree(d["ssmis"]), "identity"),
    ),
    "to_gmi-model-int": Case(InvalidArgumentError, ("model",), lambda d: to_gmi(d["ssmis"], 5)),
    "to_gmi-no-lat": Case(
        InvalidArgumentError,
        ("ds", "'lat'"),
        lambda d: to_gmi(d["ssmis"].drop_vars("lat"), "identity"),
    ),
    "to_gmi-empty": Case(
        InvalidArgumentError,
        ("ds", "no pixels"),
        lambda d: to_gmi(d["ssmis"].isel(along_track=slice(0, 0)), "identity"),
    ),
    "to_gmi-channels-int": Case(
        InvalidArgumentError,
        ("channels",),
        lambda d: to_gmi(d["ssmis"], "identity", channels=5),
    ),
    "to_gmi-gmi-lacks-channel": Case(
        MissingChannelsError,
        ("channels", "10V"),
        lambda d: to_gmi(d["gmi"], "identity", channels=["10V"]),
    ),
    "to_gmi-variable-list": Case(
        InvalidArgumentError,
        ("variable",),
        lambda d: to_gmi(d["ssmis"], "identity", variable=["Tc"]),
    ),
    "to_gmi-batch-size": Case(
        InvalidArgumentError,
        ("batch_size",),
        lambda d: to_gmi(d["ssmis"], "identity", batch_size=-1),
    ),
    "to_gmi-chunks-negative": Case(
        InvalidArgumentError,
        ("chunks['along_track']",),
        lambda d: to_gmi(d["ssmis"], "identity", chunks={"along_track": -3}),
    ),
    # --- colocate -------------------------------------------------------------------------
    "colocate-radius-string": Case(
        InvalidArgumentError,
        ("radius_km",),
        lambda d: colocate(d["src"], d["tgt"], radius_km="ten"),
    ),
    "colocate-radius-bool": Case(
        InvalidArgumentError,
        ("radius_km",),
        lambda d: colocate(d["src"], d["tgt"], radius_km=True),
    ),
    "colocate-radius-inf": Case(
        InvalidArgumentError,
        ("radius_km",),
        lambda d: colocate(d["src"], d["tgt"], radius_km=np.inf),
    ),
    "colocate-radius-huge": Case(
        InvalidArgumentError,
        ("radius_km", "circumference"),
        lambda d: colocate(d["src"], d["tgt"], radius_km=1e9),
    ),
    "colocate-method-list": Case(
        InvalidArgumentError,
        ("method=",),
        lambda d: colocate(d["src"], d["tgt"], radius_km=10, method=["mean"]),
    ),
    "colocate-scans-per-task-float": Case(
        InvalidArgumentError,
        ("scans_per_task",),
        lambda d: colocate(d["src"], d["tgt"], radius_km=10, scans_per_task=2.5),
    ),
    "colocate-num-threads-zero": Case(
        InvalidArgumentError,
        ("num_threads",),
        lambda d: colocate(d["src"], d["tgt"], radius_km=10, num_threads=0),
    ),
    "colocate-footprint-string": Case(
        InvalidArgumentError,
        ("footprint_km",),
        lambda d: colocate(d["src"], d["tgt"], radius_km=10, method="gaussian", footprint_km="x"),
    ),
    "colocate-variables-dict": Case(
        InvalidArgumentError,
        ("variables",),
        lambda d: colocate(d["src"], d["tgt"], radius_km=10, variables={"Tc": 1}),
    ),
    "colocate-max-dt-float": Case(
        InvalidArgumentError,
        ("max_dt",),
        lambda d: colocate(d["src"], d["tgt"], radius_km=10, max_dt=5.0),
    ),
    "colocate-source-dataarray": Case(
        InvalidArgumentError,
        ("source", "DataArray", "to_dataset"),
        lambda d: colocate(d["src"]["Tc"], d["tgt"], radius_km=10),
    ),
    "colocate-target-datatree": Case(
        InvalidArgumentError,
        ("target", "DataTree"),
        lambda d: colocate(d["src"], xr.DataTree(d["tgt"]), radius_km=10),
    ),
    "colocate-source-no-lat": Case(
        InvalidArgumentError,
        ("source", "'lat'"),
        lambda d: colocate(d["src"].drop_vars("lat"), d["tgt"], radius_km=10),
    ),
    "colocate-lon-text": Case(
        InvalidArgumentError,
        ("source['lon']", "dtype"),
        lambda d: colocate(
            d["src"].assign_coords(lon=d["src"]["lon"].astype(str)), d["tgt"], radius_km=10
        ),
    ),
    "colocate-source-empty": Case(
        InvalidArgumentError,
        ("source", "no pixels"),
        lambda d: colocate(d["src"].isel(along_track=slice(0, 0)), d["tgt"], radius_km=10),
    ),
    "colocate-all-target-impossible": Case(
        InvalidDataError,
        ("target", "impossible", "1800 of 1800"),
        lambda d: colocate(d["src"], _with_lat(d["tgt"], 95.0, 1800), radius_km=10),
    ),
    "colocate-target-lon-400": Case(
        InvalidDataError,
        ("target", "lon outside [-360, 360]"),
        lambda d: colocate(
            d["src"], d["tgt"].assign_coords(lon=d["tgt"]["lon"] + 400.0), radius_km=10
        ),
    ),
    "colocate-grid-source-lat-95": Case(
        InvalidDataError,
        ("source", "'lat'", "[-90, 90]"),
        lambda d: colocate(
            xr.Dataset(
                {"p": (("lat", "lon"), np.ones((20, 30)))},
                coords={"lat": np.arange(80.0, 100.0), "lon": np.arange(0.0, 30.0)},
            ),
            d["tgt"],
            radius_km=100,
            method="bilinear",
        ),
    ),
    "colocate-bad-target-crs": Case(
        ProjectionError,
        ("target_crs", "EPSG:99999"),
        lambda d: colocate(
            d["src"],
            xr.Dataset(coords={"x": np.arange(5.0) * 1e3, "y": np.arange(4.0) * 1e3}),
            radius_km=10,
            target_crs="EPSG:99999",
        ),
    ),
    "colocate-bad-crs-attribute": Case(
        ProjectionError,
        ("target.attrs['crs']",),
        lambda d: colocate(
            d["src"],
            xr.Dataset(
                coords={"x": np.arange(5.0) * 1e3, "y": np.arange(4.0) * 1e3},
                attrs={"crs": "+proj=foo"},
            ),
            radius_km=10,
        ),
    ),
    "colocate-no-overlap-in-space": Case(
        NoOverlapError,
        ("lat [", "time [", "What to do", "same overpass", "on_empty"),
        lambda d: colocate(
            d["src"], ssmis_orbit(20, 20, ascending_node_lon_deg=150.0), radius_km=10
        ),
    ),
    "colocate-no-overlap-in-time": Case(
        NoOverlapError,
        ("apart", "max_dt", "same overpass"),
        lambda d: colocate(_shift_time(d["src"], 1), d["src"], radius_km=10, max_dt="10min"),
    ),
    # --- score ----------------------------------------------------------------------------
    "score-threshold-negative": Case(
        InvalidArgumentError,
        ("thresholds", ">= 0"),
        lambda d: score(d["fc"], d["ref"], thresholds=[-1]),
    ),
    "score-threshold-text": Case(
        InvalidArgumentError,
        ("thresholds",),
        lambda d: score(d["fc"], d["ref"], thresholds="abc"),
    ),
    "score-threshold-nested": Case(
        InvalidArgumentError,
        ("thresholds",),
        lambda d: score(d["fc"], d["ref"], thresholds=[[1, 2], [3]]),
    ),
    "score-threshold-nan": Case(
        InvalidArgumentError,
        ("thresholds", "finite"),
        lambda d: score(d["fc"], d["ref"], thresholds=[np.nan]),
    ),
    "score-threshold-repeated": Case(
        InvalidArgumentError,
        ("thresholds", "unique"),
        lambda d: score(d["fc"], d["ref"], thresholds=[1.0, 1.0]),
    ),
    "score-scale-zero": Case(
        InvalidArgumentError, ("scales",), lambda d: score(d["fc"], d["ref"], scales=[0])
    ),
    "score-scale-float": Case(
        InvalidArgumentError, ("scales",), lambda d: score(d["fc"], d["ref"], scales=[2.5])
    ),
    "score-metrics-int": Case(
        InvalidArgumentError, ("metrics",), lambda d: score(d["fc"], d["ref"], metrics=3)
    ),
    "score-dim-list": Case(
        InvalidArgumentError, ("dim",), lambda d: score(d["fc"], d["ref"], dim=["time"])
    ),
    "score-spatial-dims-int": Case(
        InvalidArgumentError,
        ("spatial_dims",),
        lambda d: score(d["fc"], d["ref"], spatial_dims=5),
    ),
    "score-smape-threshold": Case(
        InvalidArgumentError,
        ("smape_threshold",),
        lambda d: score(d["fc"], d["ref"], smape_threshold=-1),
    ),
    "score-forecast-text": Case(
        InvalidArgumentError,
        ("forecast", "dtype"),
        lambda d: score(d["fc"].astype(str), d["ref"]),
    ),
    "score-forecast-bool": Case(
        InvalidArgumentError, ("forecast", "bool"), lambda d: score(d["fc"] > 1, d["ref"])
    ),
    "score-reference-dataset": Case(
        InvalidArgumentError,
        ("reference", "Dataset"),
        lambda d: score(d["fc"], d["ref"].to_dataset(name="p")),
    ),
    "score-negative-fill": Case(
        InvalidDataError,
        ("reference", "negative", "-9999.9", "fill"),
        lambda d: score(d["fc"], d["ref"].where(d["ref"] > 0.5, -9999.9)),
    ),
    "score-accessor-threshold": Case(
        InvalidArgumentError,
        ("thresholds",),
        lambda d: d["fc"].gpm.score(d["ref"], thresholds=[-0.5]),
    ),
    # --- reference_for ----------------------------------------------------------------------
    "reference-imerg-no-lat": Case(
        InvalidArgumentError,
        ("imerg", "'lat'"),
        lambda d: reference.reference_for(d["composite"], d["imerg"].drop_vars("lat")),
    ),
    "reference-imerg-string": Case(
        InvalidArgumentError,
        ("imerg",),
        lambda d: reference.reference_for(d["composite"], "imerg.nc"),
    ),
    "reference-imerg-time-float": Case(
        InvalidArgumentError,
        ("imerg['time']", "datetime64"),
        lambda d: reference.reference_for(
            d["composite"], d["imerg"].assign_coords(time=[1.0, 2.0])
        ),
    ),
    "reference-composite-path": Case(
        InvalidArgumentError,
        ("composite", "open_radar_composite"),
        lambda d: reference.reference_for("radar.h5", d["imerg"]),
    ),
    "reference-bad-projdef": Case(
        ProjectionError,
        ("projdef", "+proj=foo"),
        lambda d: reference.reference_for(
            d["composite"].assign_attrs(projdef="+proj=foo"), d["imerg"]
        ),
    ),
    "reference-min-coverage-text": Case(
        InvalidArgumentError,
        ("min_coverage",),
        lambda d: reference.reference_for(d["composite"], d["imerg"], min_coverage="a"),
    ),
    "reference-min-valid-fraction-2": Case(
        InvalidArgumentError,
        ("min_valid_fraction",),
        lambda d: reference.reference_for(d["composite"], d["imerg"], min_valid_fraction=2),
    ),
    "reference-empty-composite": Case(
        InvalidArgumentError,
        ("no time step",),
        lambda d: reference.reference_for(d["composite"].isel(time=slice(0, 0)), d["imerg"]),
    ),
    "reference-no-x": Case(
        InvalidArgumentError,
        ("'x'",),
        lambda d: reference.reference_for(d["composite"].drop_vars("x"), d["imerg"]),
    ),
    "reference-negative-radar": Case(
        InvalidDataError,
        ("composite['ACRR']", "negative"),
        lambda d: reference.reference_for(
            d["composite"].assign(ACRR=d["composite"]["ACRR"] - 10), d["imerg"]
        ),
    ),
    "reference-no-common-half-hour": Case(
        NoOverlapError,
        ("half hour", "What to do"),
        lambda d: reference.reference_for(d["composite"], _shift_time(d["imerg"], 1)),
    ),
    # --- the learned scorer (ds.gpm.score() without a reference) -------------------------
    "scorer-undecoded-fill": Case(
        InvalidDataError,
        ("'precipitation'", "-9999.9", "fill"),
        lambda d: (
            d["scorer"]
            .assign(precipitation=d["scorer"]["precipitation"].where(lambda p: p > 1, -9999.9))
            .gpm.score()
        ),
    ),
    "scorer-quality-index-range": Case(
        InvalidDataError,
        ("'precipitationQualityIndex'", "[0, 1]"),
        lambda d: (
            d["scorer"]
            .assign(precipitationQualityIndex=d["scorer"]["precipitationQualityIndex"] * 3)
            .gpm.score()
        ),
    ),
    "scorer-model-not-a-scorer": Case(
        InvalidArgumentError,
        ("'drain'", "not a scorer"),
        lambda d: d["scorer"].gpm.score(model="drain"),
    ),
    "scorer-model-int": Case(
        InvalidArgumentError, ("model",), lambda d: d["scorer"].gpm.score(model=5)
    ),
    "scorer-reference-options-without-reference": Case(
        InvalidArgumentError,
        ("thresholds", "reference"),
        lambda d: d["scorer"].gpm.score(thresholds=[1.0]),
    ),
    "scorer-clustering": Case(
        InvalidArgumentError,
        ("clustering",),
        lambda d: d["scorer"].gpm.score(clustering="kmeans"),
    ),
    "scorer-dataarray": Case(
        InvalidArgumentError,
        ("ds", "DataArray"),
        lambda d: d["scorer"]["precipitation"].gpm.score(),
    ),
    "scorer-empty": Case(
        InvalidArgumentError,
        ("ds", "time has length 0"),
        lambda d: d["scorer"].isel(time=slice(0, 0)).gpm.score(),
    ),
    "scorer-text-values": Case(
        InvalidArgumentError,
        ("'precipitation'", "dtype"),
        lambda d: (
            d["scorer"].assign(precipitation=d["scorer"]["precipitation"].astype(str)).gpm.score()
        ),
    ),
    "scorer-lat-text": Case(
        InvalidArgumentError,
        ("'lat'", "dtype"),
        lambda d: d["scorer"].assign_coords(lat=d["scorer"]["lat"].astype(str)).gpm.score(),
    ),
    # --- matchups -------------------------------------------------------------------------
    "matchups-min-coverage-text": Case(
        InvalidArgumentError,
        ("min_coverage",),
        lambda d: matchups.gmi_dpr_matchups(d["gmi3"], d["dpr"], min_coverage="a"),
    ),
    "matchups-max-distance-negative": Case(
        InvalidArgumentError,
        ("max_distance_km",),
        lambda d: matchups.gmi_dpr_matchups(d["gmi3"], d["dpr"], max_distance_km=-5),
    ),
    "matchups-radius-negative": Case(
        InvalidArgumentError,
        ("radius_km",),
        lambda d: matchups.gmi_dpr_matchups(d["gmi3"], d["dpr"], radius_km=-5),
    ),
    "matchups-footprint-int": Case(
        InvalidArgumentError,
        ("footprint",),
        lambda d: matchups.gmi_dpr_matchups(d["gmi3"], d["dpr"], footprint=89),
    ),
    "matchups-max-dt": Case(
        InvalidArgumentError,
        ("max_dt",),
        lambda d: matchups.gmi_dpr_matchups(d["gmi3"], d["dpr"], max_dt="soon"),
    ),
    "matchups-dpr-other-dims": Case(
        InvalidArgumentError,
        ("dpr['lon']", "cross_track"),
        lambda d: matchups.gmi_dpr_matchups(
            d["gmi3"], d["dpr"].rename(cross_track="ray", along_track="scan")
        ),
    ),
    "matchups-gmi-datatree": Case(
        InvalidArgumentError,
        ("gmi", "DataTree"),
        lambda d: matchups.gmi_dpr_matchups(xr.DataTree(d["gmi3"]), d["dpr"]),
    ),
    "matchups-gmi-empty": Case(
        InvalidArgumentError,
        ("gmi", "no pixels"),
        lambda d: matchups.gmi_dpr_matchups(d["gmi3"].isel(along_track=slice(0, 0)), d["dpr"]),
    ),
    "matchups-coincident-radius": Case(
        InvalidArgumentError,
        ("radius_km",),
        lambda d: matchups.coincident_scenes(d["gmi3"], d["gmi3"], radius_km=-1),
    ),
    "matchups-build-tile-int": Case(
        InvalidArgumentError,
        ("tile=",),
        lambda d: matchups.build_matchups([], "unused.zarr", tile=128),
    ),
    "matchups-build-scenes-per-chunk": Case(
        InvalidArgumentError,
        ("scenes_per_chunk",),
        lambda d: matchups.build_matchups([], "unused.zarr", scenes_per_chunk="a"),
    ),
    "matchups-build-min-valid-fraction": Case(
        InvalidArgumentError,
        ("min_valid_fraction",),
        lambda d: matchups.build_matchups([], "unused.zarr", min_valid_fraction=2),
    ),
    "matchups-build-bad-triple": Case(
        InvalidArgumentError,
        ("catalog_or_dir", "item 0", "triple"),
        lambda d: matchups.build_matchups([(1, d["gmi3"])], "unused.zarr"),
    ),
    "matchups-build-nothing": Case(
        InvalidArgumentError,
        ("catalog_or_dir", "no (granule_number"),
        lambda d: matchups.build_matchups([], "unused.zarr"),
    ),
    "matchups-build-catalog-int": Case(
        InvalidArgumentError,
        ("catalog_or_dir",),
        lambda d: matchups.build_matchups(5, "unused.zarr"),
    ),
    "matchups-labels-dataarray": Case(
        InvalidArgumentError,
        ("add_labels", "ds"),
        lambda d: matchups.add_labels(d["gmi3"]["Tc"]),
    ),
    # --- evaluate -------------------------------------------------------------------------
    "evaluate-pred-text": Case(
        InvalidArgumentError,
        ("pred", "dtype"),
        lambda d: evaluate.evaluate_retrieval(d["swath_rain"].astype(str), d["swath_rain"]),
    ),
    "evaluate-spatial-dims-int": Case(
        InvalidArgumentError,
        ("spatial_dims",),
        lambda d: evaluate.evaluate_retrieval(
            d["swath_rain"], d["swath_rain"], pixel_km=5, spatial_dims=3
        ),
    ),
    "evaluate-calibration-levels-text": Case(
        InvalidArgumentError,
        ("levels",),
        lambda d: evaluate.quantile_calibration(
            d["swath_rain"].expand_dims(quantile=[0.5], axis=-1), d["swath_rain"], levels="a"
        ),
    ),
    "evaluate-calibration-tolerance": Case(
        InvalidArgumentError,
        ("tolerance",),
        lambda d: evaluate.quantile_calibration(
            d["swath_rain"].expand_dims(quantile=[0.5], axis=-1), d["swath_rain"], tolerance="a"
        ),
    ),
    "evaluate-calibration-seed": Case(
        InvalidArgumentError,
        ("seed",),
        lambda d: evaluate.quantile_calibration(
            d["swath_rain"].expand_dims(quantile=[0.5], axis=-1), d["swath_rain"], seed=1.5
        ),
    ),
    "evaluate-calibration-probability-range": Case(
        InvalidDataError,
        ("probability", "[0, 1]"),
        lambda d: evaluate.quantile_calibration(
            d["swath_rain"].expand_dims(quantile=[0.5], axis=-1),
            d["swath_rain"],
            probability=d["swath_rain"] + 5,
        ),
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_gives_a_clear_xgpm_error(name: str, data: dict, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # build_matchups never writes anything here, but just in case
    case = CASES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        with pytest.raises(XGPMError) as caught:
            result = case.call(data)
            if hasattr(result, "compute"):  # not reached when the call raises, as it should
                result.compute()
    error = caught.value
    assert isinstance(error, case.error), f"{type(error).__name__}: {error}"
    message = str(error)
    for word in case.words:
        assert word in message, f"{word!r} not in: {message}"


# ------------------------------------------------------------------------------------------
# lazy (dask) input: the check runs in the graph, not at call time
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "build"),
    [
        ("rainrate", lambda d: rainrate(_celsius(d["gmi"]).chunk({"along_track": 10}), TINY)),
        ("brain", lambda d: rainrate(_celsius(d["gmi_brain"]).chunk({"along_track": 10}), BRAIN)),
        ("to_gmi", lambda d: to_gmi(_celsius(d["ssmis"]).chunk({"along_track": 4}), "identity")),
        (
            "score",
            lambda d: score(d["fc"].chunk({"time": 1}), (d["ref"] - 5).chunk({"time": 1})),
        ),
        (
            "scorer",
            lambda d: (
                d["scorer"]
                .assign(precipitation=d["scorer"]["precipitation"] * 0 - 9999.9)
                .chunk({"time": 1})
                .gpm.score()
            ),
        ),
    ],
)
def test_lazy_input_stays_lazy_and_raises_at_compute(name: str, build, data: dict) -> None:
    import dask
    import dask.array as da

    result = build(data)  # building the graph computes nothing and raises nothing
    arrays = [v.data for v in result.data_vars.values()]
    assert any(isinstance(a, da.Array) for a in arrays)
    for scheduler in ("sync", "threads"):
        with pytest.raises(InvalidDataError) as caught, dask.config.set(scheduler=scheduler):
            result.compute()
        assert "one dask block" in str(caught.value) or name == "scorer"


def test_lazy_check_does_not_compute_while_building(data: dict, monkeypatch) -> None:
    from xgpm.models import inference

    calls = []
    original = inference.check_brightness_temperatures

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(inference, "check_brightness_temperatures", counting)
    lazy = rainrate(data["gmi"].chunk({"along_track": 10}), TINY)
    assert calls == []
    lazy.compute()
    assert len(calls) == 2  # one per block, when computed


def test_valid_tb_and_nan_pass(data: dict) -> None:
    gmi = data["gmi"]
    holes = gmi.assign(Tc=gmi["Tc"].where(gmi["Tc"] > 240))  # NaN is missing, not wrong
    out = rainrate(holes, TINY, quantiles=())
    assert np.isnan(out["surface_precip"].values).any()
    assert np.isfinite(out["surface_precip"].values).any()


# ------------------------------------------------------------------------------------------
# impossible geolocation in colocate: set aside, with a warning that counts them
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("role", "value", "n"),
    [
        ("source", 95.0, 5),
        ("source", np.inf, 7),
        ("source", -1e4, 3),
        ("target", 91.0, 11),
        ("target", -np.inf, 2),
    ],
)
def test_impossible_geolocation_is_set_aside_with_a_count(role, value, n, data) -> None:
    src, tgt = data["src"], data["tgt"]
    clean = colocate(src, tgt, radius_km=10)
    if role == "source":
        src = _with_lat(src, value, n)
    else:
        tgt = _with_lat(tgt, value, n)
    with pytest.warns(DataQualityWarning, match=rf"{n} of \d+ {role} pixel\(s\).*impossible"):
        result = colocate(src, tgt, radius_km=10)
    if role == "source":  # the first pixels of the source are far from the crossing
        np.testing.assert_array_equal(result["Tc"].values, clean["Tc"].values)
    else:
        assert np.isnan(result["Tc"].values.ravel()[:n]).all()
    assert data["src"]["lat"].values.max() <= 90  # the caller's data are untouched


def test_no_overlap_message_names_both_ranges_and_what_to_do(data) -> None:
    far = ssmis_orbit(20, 20, ascending_node_lon_deg=150.0)
    with pytest.raises(NoOverlapError) as caught:
        colocate(data["src"], far, radius_km=10, max_dt="10min")
    message = str(caught.value)
    assert message.count("lat [") == 2 and message.count("time [") == 2
    assert "lat/lon boxes do not meet" in message and "on_empty='nan'" in message
