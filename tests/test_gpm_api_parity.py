"""Every real cut granule opens in xgpm and in GPM-API, with the same values.

For every granule in tests/data/gpm_granules and every scan mode GPM-API lists for its product
and version, both libraries open it and every variable both expose (data variables and
coordinates, after aligning names: IMERG V06 names, 2B-CORRA V06 scan modes) is compared value
by value, NaN included. Deliberate differences are allowed only through :data:`DIFFERENCES`,
which mirrors the table "Where xgpm and GPM-API differ on purpose" of docs/io.md: each entry says
which products and variables, why, and the exact relation between the two libraries' values
(so that a documented difference cannot hide another one).

``benchmarks/check_products.py`` runs :func:`compare_granule` over every cut to write the
product table of docs/io.md.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import xgpm
from xgpm.io.products import product as product_spec
from xgpm.io.read import granule_info

from .conftest import GRANULES


@dataclass(frozen=True)
class Difference:
    """A deliberate difference: where (families, variables), why, and the relation that holds."""

    key: str
    families: str  # regular expression on xgpm's family name (xgpm/etc/products.yaml)
    variables: str  # regular expression on the variable name
    why: str
    holds: Callable[[xr.DataArray, xr.DataArray], bool]


def _where_differ(x: np.ndarray, g: np.ndarray) -> np.ndarray:
    x, g = np.asarray(x, dtype="float64"), np.asarray(g, dtype="float64")
    return ~((x == g) | (np.isnan(x) & np.isnan(g)))


def _only(condition: Callable[[np.ndarray, np.ndarray], np.ndarray]):
    """Where the values differ, ``condition(xgpm, gpm_api)`` holds."""

    def holds(x: xr.DataArray, g: xr.DataArray) -> bool:
        xv, gv = np.asarray(x.values, "float64"), np.asarray(g.values, "float64")
        differ = _where_differ(xv, gv)
        return bool(condition(xv, gv)[differ].all())

    return holds


def _recoded(recode: Callable[[np.ndarray], np.ndarray]):
    """GPM-API's values are ``recode(xgpm's)`` (NaN where xgpm's are NaN)."""

    def holds(x: xr.DataArray, g: xr.DataArray) -> bool:
        xv, gv = np.asarray(x.values, "float64"), np.asarray(g.values, "float64")
        with np.errstate(invalid="ignore"):
            expected = recode(xv)
        return bool(np.allclose(gv, expected, rtol=1e-6, atol=0, equal_nan=True))

    return holds


def _time_to_the_second(x: xr.DataArray, g: xr.DataArray) -> bool:
    xs = np.asarray(x.values).astype("datetime64[s]")
    gs = np.asarray(g.values).astype("datetime64[s]")
    both = ~np.isnat(xs) & ~np.isnat(gs)
    return bool((xs[both] == gs[both]).all() and (np.isnat(gs) <= np.isnat(xs)).all())


def _half_hour_later(x: xr.DataArray, g: xr.DataArray) -> bool:
    return bool((np.asarray(g.values) == np.asarray(x.values) + np.timedelta64(30, "m")).all())


def _liquid_plus_solid_in_kg(x: xr.DataArray, g: xr.DataArray) -> bool:
    total = (x.isel(LS=0) + x.isel(LS=1)) / 1000.0
    return bool(np.allclose(g.values, total.values, rtol=1e-6, equal_nan=True))


_SHALLOW_RAIN = {0: 0, 10: 1, 11: 2, 20: 3, 21: 4}
_RADAR = r"2A-RADAR|2A-ENV|2A-LH"

#: Deliberate differences; mirrors docs/io.md ("Where xgpm and GPM-API differ on purpose").
DIFFERENCES: list[Difference] = [
    Difference(
        "scan-time",
        r"^(?!IMERG)",
        r"^time$",
        "xgpm keeps the milliseconds (GPM-API whole seconds) and leaves missing scan times NaT "
        "(GPM-API interpolates up to 10 missing scans)",
        _time_to_the_second,
    ),
    Difference(
        "imerg-time",
        r"^IMERG$",
        r"^time$",
        "xgpm keeps the file's time, the start of the half hour; GPM-API gives its end",
        _half_hour_later,
    ),
    Difference(
        "gprof-9999",
        r"^2A-GPROF$",
        r".",
        "-9999 where _FillValue says -9999.9 is missing in every GPROF float variable; GPM-API "
        "decodes it in surfacePrecipitation and the rain/cloud water paths only",
        _only(lambda x, g: np.isnan(x) & (g == -9999.0)),
    ),
    Difference(
        "flag-zero",
        _RADAR,
        r"^(flagAnvil|flagHeavyIcePrecip)$",
        "0 means 'not detected' and stays 0; GPM-API sets it to NaN",
        _only(lambda x, g: (x == 0) & np.isnan(g)),
    ),
    Difference(
        "phase",
        _RADAR,
        r"^(phase|phaseNearSurface)$",
        "xgpm keeps PPS's codes (below 100 solid, 100-199 mixed, 200 and above liquid: "
        "floor(code / 100) is the class); GPM-API keeps ceil(code / 100), which puts codes "
        "1-99 in its 'mixed' class and 101-199 in 'liquid'",
        _recoded(lambda x: np.ceil(x / 100.0)),
    ),
    Difference(
        "land-surface",
        _RADAR,
        r"^landSurfaceType$",
        "xgpm keeps PPS's codes (0-99 ocean, 100-199 land ...); GPM-API keeps ceil(code / 100)",
        _recoded(lambda x: np.ceil(x / 100.0)),
    ),
    Difference(
        "shallow-rain",
        _RADAR,
        r"^flagShallowRain$",
        "xgpm keeps PPS's codes (0, 10, 11, 20, 21); GPM-API renumbers them 0-4",
        _recoded(lambda x: np.vectorize(lambda v: _SHALLOW_RAIN.get(v, np.nan))(x)),
    ),
    Difference(
        "quality-type-precip",
        _RADAR,
        r"^qualityTypePrecip$",
        "-1111 (no rain) is 0 in both; a missing value (-9999) stays NaN, GPM-API makes it 0",
        _only(lambda x, g: np.isnan(x) & (g == 0)),
    ),
    Difference(
        "precip-water",
        _RADAR,
        r"^precipWaterIntegrated$",
        "xgpm keeps the stored (liquid, solid) pair in g/m2; GPM-API sums them in kg/m2",
        _liquid_plus_solid_in_kg,
    ),
    Difference(
        "1b-power",
        r"^1B-RADAR$",
        r"^(echoPower|noisePower)$",
        "xgpm keeps the stored 0.01 dBm (with the file's units); GPM-API divides by 100",
        _recoded(lambda x: x / 100.0),
    ),
]


@dataclass
class GranuleReport:
    """What happened with one granule: opens, and each compared variable's verdict."""

    folder: str
    path: Path
    product: str | None = None
    xgpm_error: str | None = None
    gpm_api_error: str | None = None
    equal: list[tuple[str, str]] = field(default_factory=list)
    documented: list[tuple[str, str, str]] = field(default_factory=list)
    different: list[tuple[str, str, str]] = field(default_factory=list)
    only_xgpm: set[str] = field(default_factory=set)
    only_gpm_api: set[str] = field(default_factory=set)

    @property
    def values_equal(self) -> bool:
        """Both open and nothing differs beyond the documented differences."""
        return self.xgpm_error is None and self.gpm_api_error is None and not self.different


def _equal(x: xr.DataArray, g: xr.DataArray) -> bool:
    xv, gv = np.asarray(x.values), np.asarray(g.values)
    if xv.shape != gv.shape:
        return False
    if xv.dtype.kind == "M" or gv.dtype.kind == "M":
        return bool(np.array_equal(xv.astype("datetime64[ns]"), gv.astype("datetime64[ns]")))
    if xv.dtype.kind in "fiub" and gv.dtype.kind in "fiub":
        return bool(np.array_equal(xv.astype("float64"), gv.astype("float64"), equal_nan=True))
    return bool(np.array_equal(xv.astype(str), gv.astype(str)))


def _aligned(x: xr.DataArray, g: xr.DataArray) -> xr.DataArray | None:
    """GPM-API's variable in xgpm's dim order (None if their dims differ)."""
    if set(x.dims) != set(g.dims):
        return None
    return g.transpose(*x.dims)


def _verdict(family: str, name: str, x: xr.DataArray, g: xr.DataArray) -> tuple[str, str]:
    """("equal" | "documented" | "different", detail)."""
    aligned = _aligned(x, g)
    if aligned is not None and _equal(x, aligned):
        return "equal", ""
    for diff in DIFFERENCES:
        if re.search(diff.families, family) and re.search(diff.variables, name):
            other = aligned if aligned is not None else g
            try:
                ok = diff.holds(x, other)
            except (ValueError, TypeError, KeyError):
                ok = False
            return ("documented", diff.key) if ok else ("different", f"not {diff.key}")
    if aligned is None:
        return "different", f"dims {x.dims} vs {g.dims}"
    return "different", "values"


def _gpm_api_scan_modes(path: Path) -> tuple[str, list[str]]:
    from gpm.io.info import get_product_from_filepath, get_version_from_filepath
    from gpm.io.products import available_scan_modes

    product = get_product_from_filepath(path.name)
    version = get_version_from_filepath(path.name)
    return product, list(available_scan_modes(product, version))


def compare_granule(folder: str, path: Path) -> GranuleReport:
    """Open a granule in both libraries, scan mode by scan mode, and compare every variable."""
    import gpm

    report = GranuleReport(folder, path)
    try:
        report.product = granule_info(path).product
        tree = xgpm.open_granule(path, scan_mode="all", chunks=None)
    except Exception as err:  # noqa: BLE001 - reported, not raised
        report.xgpm_error = f"{type(err).__name__}: {err}"
    try:
        gpm_product, modes = _gpm_api_scan_modes(path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = {
                m: gpm.open_granule_dataset(str(path), scan_mode=m, chunks=None) for m in modes
            }
    except Exception as err:  # noqa: BLE001 - reported, not raised
        report.gpm_api_error = f"{type(err).__name__}: {err}"
    if report.xgpm_error or report.gpm_api_error:
        return report
    if gpm_product != report.product:
        report.different.append(("", "product", f"{report.product} vs {gpm_product}"))
    spec = product_spec(report.product)
    family = spec.family.name
    renamed = spec.family.renamed_variables  # GPM-API (file) name -> xgpm name
    by_group = {spec.family.renamed_scan_modes.get(m, m): m for m in tree.children}
    for mode, g_ds in theirs.items():
        x_mode = mode if mode in tree.children else by_group.get(mode)
        if x_mode is None:
            report.different.append((mode, "", "scan mode missing in xgpm"))
            continue
        x_ds = tree[x_mode].to_dataset()
        g_names = {renamed.get(n, n): n for n in g_ds.variables}
        report.only_xgpm |= {f"{x_mode}/{n}" for n in set(x_ds.variables) - set(g_names)}
        report.only_gpm_api |= {f"{mode}/{g_names[n]}" for n in set(g_names) - set(x_ds.variables)}
        for name in sorted(set(x_ds.variables) & set(g_names)):
            verdict, detail = _verdict(family, name, x_ds[name], g_ds[g_names[name]])
            if verdict == "equal":
                report.equal.append((x_mode, name))
            elif verdict == "documented":
                report.documented.append((x_mode, name, detail))
            else:
                report.different.append((x_mode, name, detail))
    return report


@pytest.fixture(scope="module")
def gpm_api():
    return pytest.importorskip("gpm")


@pytest.mark.parametrize("folder", sorted(GRANULES))
def test_same_values_as_gpm_api(folder, gpm_api):
    report = compare_granule(folder, GRANULES[folder])
    assert report.xgpm_error is None, report.xgpm_error
    assert report.gpm_api_error is None, report.gpm_api_error
    assert not report.different, report.different
    assert len(report.equal) >= 10  # the comparison compared something


def test_every_documented_difference_is_in_the_docs():
    docs = (Path(__file__).parents[1] / "docs" / "io.md").read_text()
    for diff in DIFFERENCES:
        assert f"`{diff.key}`" in docs, diff.key


def test_the_table_catches_an_undocumented_difference():
    """A value changed on xgpm's side is reported, also inside a documented variable."""
    x = xr.DataArray(np.array([1.0, np.nan, 3.0]), dims="d")
    g = xr.DataArray(np.array([1.0, np.nan, 4.0]), dims="d")
    assert _verdict("1C", "Tc", x, g) == ("different", "values")
    assert _verdict("1C", "Tc", x, x.copy()) == ("equal", "")
    # a GPROF -9999 is documented; another value is not
    x = xr.DataArray(np.array([np.nan, 2.0]), dims="d")
    documented = xr.DataArray([-9999.0, 2.0], dims="d")
    other = xr.DataArray([-9999.0, 5.0], dims="d")
    name = "frozenPrecipitation"
    assert _verdict("2A-GPROF", name, x, documented) == ("documented", "gprof-9999")
    assert _verdict("2A-GPROF", name, x, other)[0] == "different"


# --------------------------------------------------------------------------------------------
# the same granules under other names: PPS custom subsets and JAXA names (GPM-API refuses them)
# --------------------------------------------------------------------------------------------


def _scan_span(path: Path) -> tuple[np.datetime64, np.datetime64]:
    """First and last valid scan times of a granule's first scan mode."""
    ds = xgpm.open_granule(path, scan_mode="all", chunks=None)
    times = np.concatenate([node["time"].values for node in ds.children.values()])
    times = times[~np.isnat(times)]
    return times.min(), times.max()


def _set_header(path: Path, **items: str) -> None:
    import h5py

    with h5py.File(path, "r+") as h5:
        text = h5.attrs["FileHeader"]
        text = text.decode() if isinstance(text, bytes) else str(text)
        for key, value in items.items():
            text = re.sub(rf"{key}=[^;]*;", f"{key}={value};", text)
        h5.attrs["FileHeader"] = np.bytes_(text)


def renamed_copy(path: Path, folder: Path, name: str, **header: str) -> Path:
    """A writable copy of ``path`` named ``folder / name``, its FileHeader ``header`` items set.

    Parameters
    ----------
    path : Path
        The granule to copy.
    folder : Path
        Where the copy goes.
    name : str
        The copy's file name.
    **header : str
        FileHeader items to set in the copy (none: the header is the granule's).

    Returns
    -------
    Path
        The copy.
    """
    import shutil

    target = folder / name
    shutil.copy(path, target)
    target.chmod(0o644)
    if header:
        _set_header(target, **header)
    return target


def custom_subset_copy(path: Path, folder: Path, box: str = "CONUS", rename_header=False) -> Path:
    """A copy of a PPS-named granule under a PPS custom-subset name (``2A-CS-<box>...``).

    The name carries the times of the subset's first and last scans. ``rename_header`` also
    puts that name in FileHeader.FileName (otherwise the header keeps its granule's name).
    """
    from xgpm.io.filenames import parse_filename

    parts = parse_filename(path.name)
    start, end = (np.datetime64(t, "s").item() for t in _scan_span(path))
    name = (
        f"{parts.level}-CS-{box}.{parts.satellite}.{parts.instrument}.{parts.algorithm}."
        f"{start:%Y%m%d}-S{start:%H%M%S}-E{end:%H%M%S}.{parts.granule:06d}.{parts.version}.HDF5"
    )
    return renamed_copy(path, folder, name, **({"FileName": name} if rename_header else {}))


def jaxa_copy(path: Path, folder: Path, sensor: str, level: str, algorithm: str) -> Path:
    """A copy of a granule under a JAXA name (``GPMCOR_KUR_...``), its header saying so."""
    from xgpm.io.filenames import parse_filename

    parts = parse_filename(path.name)
    start, end = (np.datetime64(t, "m").item() for t in _scan_span(path))
    name = (
        f"GPMCOR_{sensor}_{start:%y%m%d%H%M}_{end:%H%M}_{parts.granule:06d}_{level}S_"
        f"{algorithm}_{parts.version[1:]}.h5"
    )
    return renamed_copy(path, folder, name, FileName=name)


# --------------------------------------------------------------------------------------------
# the registry against GPM-API's product table
# --------------------------------------------------------------------------------------------

#: GPM-API products xgpm does not read: CloudSat coincidence subsets (V05 only; GPM-API lists no
#: scan mode for them and no file was at hand to learn their layout)
NOT_READ = {"2B-GPM-CSAT", "2B-TRMM-CSAT"}


def test_every_gpm_api_product_is_in_the_registry_with_its_scan_modes(gpm_api):
    """Products, versions and scan modes: GPM-API's table, xgpm's registry (CORRA V06 renamed)."""
    from gpm.io.products import available_products, available_scan_modes, get_product_info

    from xgpm.io.products import product_names

    ours = set(product_names())
    for name in available_products():
        if name in NOT_READ:
            continue
        assert name in ours, name
        spec = product_spec(name)
        for version in get_product_info(name)["available_versions"]:
            theirs = list(available_scan_modes(name, version))
            expected = spec.scan_modes(f"V{version:02d}")
            renamed = spec.family.renamed_scan_modes
            if version < 7 and renamed:  # xgpm reads CORRA V06's NS/MS under the V07 names,
                # KuKaGMI first in every version (GPM-API: NS, i.e. KuGMI, first in V06)
                theirs = [next((m for m in expected if renamed.get(m) == t), t) for t in theirs]
                assert sorted(expected) == sorted(theirs), (name, version)
                continue
            assert list(expected) == theirs, (name, version)  # same order: same default


def test_gpm_api_file_name_patterns_give_the_same_product(gpm_api):
    """Every cut's name gives the same product in both libraries (JAXA name included)."""
    from gpm.io.info import get_product_from_filepath

    for folder, path in GRANULES.items():
        assert xgpm.parse_filename(path.name).product == get_product_from_filepath(path.name), (
            folder
        )
