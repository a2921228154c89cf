"""xgpm.process: granule archives -> pipeline on dask.distributed -> Zarr, resumable and exact."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import xarray as xr

import xgpm
import xgpm.process  # the package; also `xgpm.process` once exported lazily
from xgpm.errors import InvalidArgumentError, UnknownProductError, WriteError

pytest.importorskip("distributed")
pytest.importorskip("zarr")

ROOT = Path(__file__).resolve().parents[1]
CHEAP = ["tests.test_process:brightest"]


# --------------------------------------------------------------------------------------------
# pipeline steps used by the tests (module level: workers import them by name)
# --------------------------------------------------------------------------------------------


def brightest(ds: xr.Dataset) -> xr.Dataset:
    """A cheap step: the warmest and the mean brightness temperature of each pixel."""
    tc = ds["Tc"]
    return xr.Dataset(
        {  # skipna=False: NaN where a channel is NaN (and no all-NaN warning)
            "tb_max": tc.max("pmw_frequency", skipna=False),
            "tb_mean": tc.mean("pmw_frequency", skipna=False),
        },
        coords={k: v for k, v in ds.coords.items() if "pmw_frequency" not in v.dims},
    )


def slow_brightest(ds: xr.Dataset) -> xr.Dataset:
    """``brightest``, slowly (so that a run can be killed midway)."""
    time.sleep(0.8)
    return brightest(ds)


def kill_worker_once(ds: xr.Dataset) -> xr.Dataset:
    """Kill the worker process running it, once per marker file (then pass ``ds`` through)."""
    marker = Path(os.environ["XGPM_TEST_KILL_MARKER"])
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return ds
    os.close(fd)
    os._exit(1)


# --------------------------------------------------------------------------------------------
# a tiny simulated archive, laid out like PPS (YYYY/MM/DD/1C/), with a corrupt and an empty file
# --------------------------------------------------------------------------------------------


def _truth(lat, lon, times, *, seed, resolution_km=None):
    lat, lon = np.asarray(lat, float), np.asarray(lon, float)
    if lat.ndim == 1:
        lat, lon = np.meshgrid(lat, lon, indexing="ij")
    times = np.asarray(times, dtype="datetime64[ns]")
    rain = (6.0 * np.clip(np.cos(lat * 20.0) * np.cos(lon * 25.0), 0, None)).astype("float32")
    nt = len(times)
    data = {
        "surface_precip": np.repeat(rain[None], nt, 0),
        "precip_type": np.repeat((rain > 0).astype("int8")[None], nt, 0),
        "t2m": np.full((nt, *lat.shape), 285.0, "float32"),
        "surface_type": np.zeros((nt, *lat.shape), "int8"),
    }
    return xr.Dataset(
        {k: (("time", "y", "x"), v) for k, v in data.items()},
        coords={"time": times, "lat": (("y", "x"), lat), "lon": (("y", "x"), lon)},
    )


def _rtm(scene, channels, incidence=None):
    rain = scene["surface_precip"]
    tbs = [280.0 - 4.0 * rain * (1 + 0.001 * c.frequency) for c in channels]
    return xr.concat(tbs, dim="pmw_frequency").assign_coords(
        pmw_frequency=[c.label for c in channels]
    )


def _set_header(path: Path, **changes: str) -> None:
    with h5py.File(path, "r+") as h5:
        lines = h5.attrs["FileHeader"].decode().split("\n")
        for key, value in changes.items():
            lines = [f"{key}={value};" if ln.startswith(f"{key}=") else ln for ln in lines]
        h5.attrs["FileHeader"] = np.bytes_("\n".join(lines))


def _renumbered_copy(path: Path, granule: int) -> Path:
    parts = path.name.split(".")
    parts[5] = f"{granule:06d}"
    new = path.with_name(".".join(parts))
    shutil.copyfile(path, new)
    _set_header(new, FileName=new.name, GranuleNumber=str(granule))
    return new


def _pps_layout(sim: Path, archive: Path) -> list[Path]:
    from xgpm.io.filenames import parse_filename

    moved = []
    for path in sorted(sim.rglob("*.HDF5")):
        day = parse_filename(path).start
        target = archive / f"{day:%Y/%m/%d}" / "1C" / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        moved.append(target)
    shutil.copyfile(sim / "catalog.csv", archive / "catalog.csv")  # not a granule: ignored
    return moved


#: session-wide results of the fixtures below: other test modules import these fixtures, and
#: pytest would otherwise build them once per importing module
_SESSION: dict[str, Path] = {}


def session_archive(tmp_path_factory) -> Path:
    """~4 GMI and ~4 SSMIS-F17 granules over 2 days, plus a corrupt and an empty GMI granule."""
    if "archive" not in _SESSION:
        _SESSION["archive"] = _make_archive(tmp_path_factory)
    return _SESSION["archive"]


@pytest.fixture(scope="session")
def archive(tmp_path_factory) -> Path:
    """:func:`session_archive`."""
    return session_archive(tmp_path_factory)


def _make_archive(tmp_path_factory) -> Path:
    from xgpm.simulate import products as P

    root = tmp_path_factory.mktemp("process")
    region = P.Region.square("small", 46.5, 2.5, 200.0)
    P.simulate_to_disk(
        root / "sim",
        region,
        "2021-01-01",
        days=2,
        sensors="gmi,ssmis-f17",
        progress=False,
        truth_fn=_truth,
        rtm_fn=_rtm,
    )
    files = _pps_layout(root / "sim", root / "archive")
    gmi = [p for p in files if ".GMI." in p.name]
    empty = _renumbered_copy(gmi[0], 999_990)
    _set_header(empty, EmptyGranule="EMPTY")
    corrupt = _renumbered_copy(gmi[1], 999_991)
    raw = corrupt.read_bytes()
    corrupt.write_bytes(raw[: len(raw) // 3])
    return root / "archive"


def _open(store: Path | str, group: str = "GMI", **kw) -> xr.Dataset:
    return xr.open_zarr(store, group=group, **kw).load()


def _assert_same_store(a: Path, b: Path, groups=("GMI",)) -> None:
    for group in groups:
        xr.testing.assert_identical(_open(a, group), _open(b, group))
    done_a, failed_a = xgpm.process.read_manifest(a)
    done_b, failed_b = xgpm.process.read_manifest(b)
    cols = ["name", "group", "row_start", "rows"]
    assert done_a[cols].equals(done_b[cols])
    assert failed_a[["name", "reason"]].equals(failed_b[["name", "reason"]])


def _run(archive: Path, store: Path, **kw):
    kw = {
        "pipeline": CHEAP,
        "product": "1C-GMI",
        "processes": False,
        "n_workers": 2,
        "progress": False,
        **kw,
    }
    return xgpm.process(archive, store, **kw)


def session_reference(tmp_path_factory) -> Path:
    """An uninterrupted run of the cheap pipeline over the GMI granules of the archive."""
    if "reference" not in _SESSION:
        store = tmp_path_factory.mktemp("reference") / "ref.zarr"
        _run(session_archive(tmp_path_factory), store)
        _SESSION["reference"] = store
    return _SESSION["reference"]


@pytest.fixture(scope="session")
def reference_store(archive, tmp_path_factory) -> Path:
    """:func:`session_reference`."""
    return session_reference(tmp_path_factory)


# --------------------------------------------------------------------------------------------
# selection and validation
# --------------------------------------------------------------------------------------------


def test_select_granules_filters_and_orders(archive):
    refs = xgpm.process.select_granules(archive)
    assert {r.sensor for r in refs} == {"GMI", "SSMIS-F17"}
    assert refs == sorted(refs, key=lambda r: (r.sensor, r.start, r.granule))
    assert all(Path(r.url).exists() and Path(r.url).name == r.name for r in refs)
    gmi = xgpm.process.select_granules(archive, sensor="gmi")
    assert {r.product for r in gmi} == {"1C-GMI"}
    assert gmi == xgpm.process.select_granules(archive, product="1C-GMI")
    day1 = xgpm.process.select_granules(archive, start="2021-01-01", end="2021-01-02")
    assert day1 and all(r.start.day == 1 for r in day1)
    assert len(day1) < len(refs)
    with pytest.raises(UnknownProductError):
        xgpm.process.select_granules(archive, product="1C-NOPE")
    with pytest.raises(InvalidArgumentError, match="no granule"):
        xgpm.process.select_granules(archive, start="2030-01-01")
    with pytest.raises(InvalidArgumentError, match="does not exist"):
        xgpm.process.select_granules(archive / "missing")
    with pytest.raises(InvalidArgumentError, match="after start"):
        xgpm.process.select_granules(archive, start="2021-01-02", end="2021-01-01")


def test_bad_pipeline_is_refused_before_any_work(archive, tmp_path):
    store = tmp_path / "s.zarr"
    with pytest.raises(InvalidArgumentError, match="not_a_method.*not a method"):
        _run(archive, store, pipeline=["not_a_method"])
    with pytest.raises(InvalidArgumentError, match="cannot import"):
        _run(archive, store, pipeline=["tests.test_process:nothing_here"])
    with pytest.raises(InvalidArgumentError, match="must be a method name"):
        _run(archive, store, pipeline=[42])
    assert not store.exists()


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"along_track_chunk": 0}, "along_track_chunk (--chunk)"),
        ({"along_track_chunk": -5}, "along_track_chunk"),
        ({"along_track_chunk": 2.5}, "along_track_chunk"),
        ({"n_workers": 0}, "n_workers (--workers)"),
        ({"n_workers": True}, "n_workers"),
        ({"threads_per_worker": 0}, "threads_per_worker (--threads-per-worker)"),
        ({"retries": -1}, "retries (--retries)"),
        ({"memory_limit": "lots"}, "memory_limit (--memory-limit)"),
        ({"memory_limit": -1}, "memory_limit"),
        ({"resources": {"GPU": 0}}, "resources['GPU']"),
        ({"resources": "GPU"}, "resources"),
        ({"wait": True, "wait_timeout": -1}, "wait_timeout"),
        ({"stale_after": 0}, "stale_after (--stale-after)"),
        ({"stale_after": 20, "heartbeat_s": 30}, "must be longer than heartbeat_s"),
    ],
)
def test_bad_arguments_are_refused_naming_the_argument(archive, tmp_path, kwargs, named):
    store = tmp_path / "bad.zarr"
    with pytest.raises(InvalidArgumentError) as refused:
        _run(archive, store, **kwargs)
    assert named in str(refused.value)
    assert not store.exists()


def test_bad_selections_are_refused_naming_the_argument(archive, tmp_path):
    from xgpm.errors import UnknownSensorError

    store = tmp_path / "bad.zarr"
    with pytest.raises(UnknownSensorError, match="sensor='NOPE'.*Unknown sensor 'NOPE'"):
        _run(archive, store, product=None, sensor="NOPE")
    with pytest.raises(UnknownProductError, match="product='1C-NOPE'"):
        _run(archive, store, product="1C-NOPE")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidArgumentError, match="no granule in .*empty.*0 file"):
        _run(tmp_path / "empty", store)
    with pytest.raises(InvalidArgumentError, match="no granule"):
        _run([], store)
    with pytest.raises(InvalidArgumentError, match="names no sensor"):
        _run(archive, store, product=None, sensor=",")
    assert not store.exists()


def test_pipeline_steps_resolve():
    from xgpm.process.pipeline import default_pipeline, resolve_pipeline

    assert default_pipeline("GMI") == ("rainrate",)
    assert default_pipeline("SSMIS-F17") == ("to_gmi", "rainrate")
    steps = resolve_pipeline([("rainrate", {"quantiles": [0.5]}), brightest], "GMI")
    assert steps[0].describe() == "rainrate(quantiles=[0.5])"
    assert steps[1].describe() == "tests.test_process:brightest()"
    assert len(resolve_pipeline("rainrate", "GMI")) == 1
    assert len(resolve_pipeline(("rainrate", {"model": "drain"}), "GMI")) == 1
    with pytest.raises(InvalidArgumentError, match="list of steps"):
        resolve_pipeline(42, "GMI")
    with pytest.raises(InvalidArgumentError, match="tuple step"):
        resolve_pipeline([("rainrate", 1, 2)], "GMI")


def test_steps_return_datasets():
    from xgpm.process.pipeline import resolve_pipeline

    ds = xr.Dataset({"Tc": (("cross_track", "along_track"), np.arange(6.0).reshape(2, 3))})
    (as_array,) = resolve_pipeline([lambda d: d["Tc"] * 2], "GMI")
    out = as_array(ds)
    assert isinstance(out, xr.Dataset)
    np.testing.assert_array_equal(out["Tc"].values, ds["Tc"].values * 2)
    (broken,) = resolve_pipeline([lambda d: 3], "GMI")
    with pytest.raises(InvalidArgumentError, match="returned int"):
        broken(ds)


# --------------------------------------------------------------------------------------------
# the store: content, failures, determinism
# --------------------------------------------------------------------------------------------


def test_store_holds_every_granule_once_and_records_failures(archive, reference_store):
    done, failed = xgpm.process.read_manifest(reference_store)
    good = [r for r in xgpm.process.select_granules(archive, product="1C-GMI")]
    assert len(done) == len(good) - 2 and len(good) >= 4
    reasons = dict(zip(failed["granule"], failed["reason"], strict=True))
    assert set(reasons) == {999_990, 999_991}
    assert reasons[999_990].startswith("EmptyGranuleError")
    assert reasons[999_991].split(":")[0] in ("NotHDF5Error", "CorruptGranuleError")
    ds = _open(reference_store)
    # rows: contiguous, in selection order, each granule once and complete
    assert (done["row_start"].values == np.cumsum([0, *done["rows"].values[:-1]])).all()
    assert ds.sizes["along_track"] == done["rows"].sum()
    for row in done.itertuples():
        rows = slice(row.row_start, row.row_start + row.rows)
        assert (ds["granule"].values[rows] == row.granule).all()
        expected = brightest(xgpm.open_granule(row.url)).compute()
        np.testing.assert_array_equal(ds["tb_max"].values[:, rows], expected["tb_max"].values)
        np.testing.assert_array_equal(ds["time"].values[rows], expected["time"].values)
    pairs = list(zip(ds["granule"].values, ds["gpm_along_track_id"].values, strict=True))
    assert len(set(pairs)) == len(pairs)  # no duplicate along-track rows
    assert ds.attrs["xgpm_pipeline"] == "tests.test_process:brightest()"


def test_same_input_twice_gives_identical_stores(archive, reference_store, tmp_path):
    summary = _run(archive, tmp_path / "again.zarr", n_workers=1)
    assert summary.processed + summary.failed == summary.selected
    _assert_same_store(reference_store, tmp_path / "again.zarr")
    # a re-run of a finished store does nothing and changes nothing
    again = _run(archive, tmp_path / "again.zarr")
    assert again.processed == again.failed == 0 and again.skipped == again.selected
    _assert_same_store(reference_store, tmp_path / "again.zarr")


def test_rows_of_an_interrupted_commit_are_cut_back(archive, reference_store, tmp_path):
    """Killed after a granule's rows were written but before its manifest entry: redone once."""
    store = tmp_path / "cut.zarr"
    shutil.copytree(reference_store, store)
    done, _ = xgpm.process.read_manifest(store)
    last = done.iloc[-1]
    (store / "_xgpm" / "done" / f"{last['name']}.json").unlink()
    (store / "_xgpm" / "failed" / "tmp.json.123.tmp").write_text("{")  # a killed write
    summary = _run(archive, store)
    assert summary.processed == 1 and summary.failed == 0
    _assert_same_store(reference_store, store)


def test_a_group_without_committed_rows_is_rewritten(archive, reference_store, tmp_path):
    """Killed during the first write of a group: the group is dropped and written again."""
    store = tmp_path / "first.zarr"
    shutil.copytree(reference_store, store)
    for marker in (store / "_xgpm" / "done").glob("*.json"):
        marker.unlink()
    (store / "_xgpm" / "manifest.json").unlink()
    summary = _run(archive, store)
    assert summary.processed == summary.selected - 2 and summary.failed == 0
    _assert_same_store(reference_store, store)


def test_resume_with_another_pipeline_is_refused(archive, reference_store, tmp_path):
    store = tmp_path / "other.zarr"
    shutil.copytree(reference_store, store)
    with pytest.raises(InvalidArgumentError, match="written with pipelines"):
        _run(archive, store, pipeline=["tests.test_process:slow_brightest"])
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "data.txt").write_text("x")
    with pytest.raises(InvalidArgumentError, match="not an xgpm process store"):
        _run(archive, tmp_path / "plain")


def test_another_sensor_joins_the_store(archive, reference_store, tmp_path):
    store = tmp_path / "two.zarr"
    shutil.copytree(reference_store, store)
    summary = _run(archive, store, product="1C-SSMIS-F17")
    assert summary.processed >= 2 and summary.failed == 0
    assert set(summary.rows) == {"GMI", "SSMIS-F17"}
    tree = xr.open_datatree(store, engine="zarr")
    assert set(tree.children) == {"GMI", "SSMIS-F17"}
    xr.testing.assert_identical(_open(store, "GMI"), _open(reference_store, "GMI"))
    ssmis = xgpm.process.open_store(store, "ssmis-f17").load()
    assert (
        ssmis.sizes["cross_track"] == 180
        and ssmis.sizes["along_track"] == summary.rows["SSMIS-F17"]
    )
    assert np.isfinite(ssmis["tb_max"].values).any()


def test_batched_commits_equal_single_commits_and_isolate_a_bad_granule(archive, tmp_path):
    from xgpm.process.core import _commit, _runs, run_granule
    from xgpm.process.pipeline import resolve_pipeline
    from xgpm.process.store import ArchiveStore

    refs = [r for r in xgpm.process.select_granules(archive, product="1C-GMI") if r.granule < 9e5]
    steps = resolve_pipeline(CHEAP, "GMI")
    results = [(ref, *run_granule(ref, steps)) for ref in refs]
    assert all(status == "ok" for _, status, _ in results)
    pipelines = {"GMI": "x"}
    attrs = {"GMI": {"xgpm_pipeline": "x"}}
    one, batch = ArchiveStore(tmp_path / "one.zarr"), ArchiveStore(tmp_path / "batch.zarr")
    one.open(pipelines)
    batch.open(pipelines)
    for item in results:
        assert _commit(one, [item], 16, attrs, pipelines) == (1, 0)
    runs = _runs(results[:1] + [(refs[1], "failed", "why")] + results[2:])
    assert [len(r) for r in runs] == [1, 1, len(refs) - 2]
    assert _commit(batch, results, 16, attrs, pipelines) == (len(refs), 0)
    xr.testing.assert_identical(_open(one.url), _open(batch.url))
    # a granule whose output does not fit (another swath width) fails alone
    bad = tmp_path / "bad.zarr"
    store = ArchiveStore(bad)
    store.open(pipelines)
    cropped = [
        (ref, status, ds.isel(cross_track=slice(0, 100)) if i == 2 else ds)
        for i, (ref, status, ds) in enumerate(results)
    ]
    assert _commit(store, cropped[:2], 16, attrs, pipelines) == (2, 0)
    assert _commit(store, cropped[2:], 16, attrs, pipelines) == (len(refs) - 3, 1)
    assert list(store.failed) == [refs[2].name]
    assert "WriteError" in store.failed[refs[2].name]["reason"]
    kept = _open(bad)
    assert refs[2].granule not in set(kept["granule"].values)
    assert kept.sizes["along_track"] == sum(r["rows"] for r in store.done.values())
    extra = results[2][2].assign(more=results[2][2]["tb_max"] * 2)
    with pytest.raises(WriteError, match="same variables"):
        store.commit([refs[2]], [extra], along_track_chunk=16, attrs={})
    xr.testing.assert_identical(_open(bad), kept)


def test_retry_failed_tries_failures_again(archive, reference_store, tmp_path):
    store = tmp_path / "retry.zarr"
    shutil.copytree(reference_store, store)
    summary = _run(archive, store, retry_failed=True)
    assert summary.processed == 0 and summary.failed == 2
    assert len(summary.failures) == 2 and "EmptyGranuleError" in str(summary)


def test_rainrate_pipeline_matches_direct_retrieval(archive, tmp_path, one_torch_thread):
    store = tmp_path / "rain.zarr"
    summary = _run(archive, store, pipeline=["rainrate"], n_workers=1, end="2021-01-02")
    assert summary.processed >= 1
    done, _ = xgpm.process.read_manifest(store)
    ds = _open(store)
    assert {"surface_precip", "probability_of_precip", "surface_precip_quantile"} <= set(ds)
    for row in done.itertuples():
        rows = slice(row.row_start, row.row_start + row.rows)
        direct = xgpm.open_granule(row.url).gpm.rainrate().compute()
        np.testing.assert_allclose(
            ds["surface_precip"].values[:, rows], direct["surface_precip"].values, atol=1e-5
        )


def test_other_sensors_go_through_to_gmi_then_rainrate(archive, tmp_path, one_torch_thread):
    store = tmp_path / "ssmis.zarr"
    pipeline = [("to_gmi", {"model": "identity"}), ("rainrate", {"quantiles": [0.5]})]
    summary = _run(archive, store, pipeline=pipeline, product=None, sensor="SSMIS-F17", n_workers=1)
    assert summary.processed >= 1 and summary.failed == 0
    done, _ = xgpm.process.read_manifest(store)
    ds = _open(store, group=done["group"].iloc[0])
    row = done.iloc[0]
    rows = slice(row.row_start, row.row_start + row.rows)
    ssmis = xgpm.open_granule(row.url)
    direct = ssmis.gpm.to_gmi("identity").gpm.rainrate(quantiles=[0.5]).compute()
    np.testing.assert_allclose(
        ds["surface_precip"].values[:, rows], direct["surface_precip"].values, atol=1e-5
    )
    # pseudo-GMI on GMI's pixel spacing: the SSMIS scans are densified across the swath
    assert ds.sizes["cross_track"] == 2 * ssmis.sizes["cross_track"] - 1


# --------------------------------------------------------------------------------------------
# surviving deaths: a worker, the whole process
# --------------------------------------------------------------------------------------------


def test_worker_death_is_survived_on_an_existing_cluster(
    archive, reference_store, tmp_path, monkeypatch
):
    from distributed import LocalCluster

    monkeypatch.setenv("XGPM_TEST_KILL_MARKER", str(tmp_path / "killed"))
    store = tmp_path / "dead.zarr"
    with LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=True,
        resources={"GPU": 1},  # a "GPU" worker resource: tasks ask for it
        dashboard_address=None,
        env={"XGPM_TEST_KILL_MARKER": str(tmp_path / "killed")},
    ) as cluster:
        summary = _run(
            archive,
            store,
            pipeline=["tests.test_process:kill_worker_once", *CHEAP],
            scheduler=cluster.scheduler_address,
        )
    assert (tmp_path / "killed").exists()  # a worker did die
    assert summary.failed == 2  # only the corrupt and the empty granule
    for group in ("GMI",):
        ref, got = _open(reference_store, group), _open(store, group)
        xr.testing.assert_identical(ref.drop_attrs(deep=False), got.drop_attrs(deep=False))


def test_killed_process_resumes_to_the_same_store(archive, reference_store, tmp_path, capsys):
    from xgpm.process import cli

    store = tmp_path / "killed.zarr"
    args = [
        str(archive),
        str(store),
        "--product",
        "1C-GMI",
        "--threads",
        "--workers",
        "1",
        "--step",
        "tests.test_process:slow_brightest",
        "--no-progress",
    ]
    code = "import sys; from xgpm.process.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.Popen([sys.executable, "-c", code, *args], cwd=ROOT)
    done_dir = store / "_xgpm" / "done"
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline and len(list(done_dir.glob("*.json"))) < 2:
        time.sleep(0.05)
        assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    lease = xgpm.process.read_lease(store)
    assert lease is not None and lease["pid"] == proc.pid  # left behind by the killed run
    n_before = len(list((store / "_xgpm").glob("*/*.json")))
    total = len(xgpm.process.select_granules(archive, product="1C-GMI"))
    assert 2 <= n_before < total
    # resume through the command line; exit code 1: some granules failed (and are recorded)
    assert cli.main(args) == 1
    summary = capsys.readouterr().out
    assert "EmptyGranuleError" in summary and f"{n_before} already in the store" in summary
    for group in ("GMI",):  # the same rows as an uninterrupted run (of an equivalent step)
        ref, got = _open(reference_store, group), _open(store, group)
        xr.testing.assert_identical(ref.drop_attrs(deep=False), got.drop_attrs(deep=False))
    done_ref, _ = xgpm.process.read_manifest(reference_store)
    done_got, _ = xgpm.process.read_manifest(store)
    cols = ["name", "row_start", "rows"]
    assert done_ref[cols].equals(done_got[cols])
    # its process is gone: the lease was taken over (no --break-lock needed), then released
    assert xgpm.process.read_lease(store) is None


# --------------------------------------------------------------------------------------------
# command line, resources
# --------------------------------------------------------------------------------------------


def test_cli_parses_steps_and_options(archive, tmp_path, capsys):
    import argparse

    from xgpm.process import cli

    parser = argparse.ArgumentParser(prog="xgpm")
    cli.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        [
            "process",
            str(archive),
            str(tmp_path / "cli.zarr"),
            "--step",
            'rainrate:{"quantiles": [0.5]}',
            "--step",
            "tests.test_process:brightest",
            "--store-options",
            '{"auto_mkdir": true}',
            "--wait",
            "--break-lock",
            "--memory-limit",
            "2GiB",
        ]
    )
    assert args.steps == [("rainrate", {"quantiles": [0.5]}), "tests.test_process:brightest"]
    assert args.store_options == {"auto_mkdir": True}
    assert args.wait == float("inf") and args.break_lock and args.memory_limit == "2GiB"
    assert parser.parse_args(["process", "a", "b", "--wait", "30"]).wait == 30.0
    assert parser.parse_args(["process", "a", "b"]).wait is None
    with pytest.raises(SystemExit):
        parser.parse_args(["process", "a", "b", "--store-options", "[1]"])
    code = cli.main([str(archive), str(tmp_path / "x.zarr"), "--step", "nope", "--threads"])
    assert code == 2 and "'nope'" in capsys.readouterr().err
    code = cli.main([str(archive), str(tmp_path / "x.zarr"), "--chunk", "0", "--threads"])
    assert code == 2 and "--chunk" in capsys.readouterr().err


def test_gpu_resource_is_requested_when_workers_have_it():
    from xgpm.process.core import _worker_resources

    class FakeClient:
        def __init__(self, resources):
            self.info = {"workers": {"w": {"resources": resources}}}

        def scheduler_info(self):
            return self.info

    assert _worker_resources(FakeClient({"GPU": 1}), "auto") == {"GPU": 1}
    assert _worker_resources(FakeClient({}), "auto") is None
    assert _worker_resources(FakeClient({}), {"MEM": 2}) == {"MEM": 2}


def test_manifest_objects_are_json(reference_store):
    manifest = json.loads((reference_store / "_xgpm" / "manifest.json").read_text())
    assert {"done", "failed", "layout_version"} <= set(manifest)
    assert not list(reference_store.rglob("*.tmp"))


def test_importing_the_package_stays_light():
    code = (
        "import sys, xgpm.process; "
        "heavy = [m for m in ('distributed', 'zarr', 'torch', 's3fs') if m in sys.modules]; "
        "assert callable(xgpm.process) and not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
