"""Every Python snippet of the README runs as written, on the files the README says to make.

The README's ``xgpm simulate`` command is run (coarser than its default, for speed: a 10 km
truth grid and 30-minute radar steps) into a temporary folder, then the README's ``python``
blocks run in order in one namespace from that folder, as a reader would paste them.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from xgpm.cli import main

README = Path(__file__).parents[1] / "README.md"
#: Options added to the README's command to keep the test short (same files, coarser physics).
FASTER = ["--truth-res-km", "10", "--radar-step", "30min", "--no-progress"]


def _blocks(language: str) -> list[str]:
    """The README's fenced code blocks of one language, in order."""
    text = README.read_text(encoding="utf-8")
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.S | re.M)


def _simulate_command() -> list[str]:
    commands = [
        line.strip()
        for block in _blocks("bash")
        for line in block.splitlines()
        if line.strip().startswith("xgpm simulate")
    ]
    assert len(commands) == 1, commands
    return shlex.split(commands[0])[1:]


@pytest.fixture(scope="module")
def readme_folder(tmp_path_factory) -> Path:
    """A folder where the README's ``xgpm simulate`` command has run."""
    folder = tmp_path_factory.mktemp("readme")
    args = _simulate_command()
    out = args[args.index("--out") + 1]
    assert not Path(out).is_absolute()
    args[args.index("--out") + 1] = str(folder / out)
    assert main([*args, *FASTER]) == 0
    return folder


def test_the_readme_has_python_blocks_and_one_simulate_command():
    assert len(_blocks("python")) >= 2
    assert "--out" in _simulate_command()


def test_readme_python_blocks_run_as_written(readme_folder, monkeypatch, capsys):
    import matplotlib.pyplot as plt

    monkeypatch.chdir(readme_folder)
    namespace: dict = {"__name__": "readme"}
    for number, block in enumerate(_blocks("python"), 1):
        code = compile(block, f"README.md python block {number}", "exec")
        exec(code, namespace)  # the README's own snippets
    plt.close("all")

    # what the snippets promise
    gmi, dpr_on_gmi = namespace["gmi"], namespace["dpr_on_gmi"]
    assert gmi.sizes["pmw_frequency"] == 13
    rain = dpr_on_gmi["precipRateNearSurface"].values
    assert np.isfinite(rain).sum() > 1000 and (rain >= 1.0).sum() > 100  # the DPR sees rain
    scores = namespace["scores"].compute()
    assert scores.sizes["time"] >= 1 and np.isfinite(scores["pooled_csi"].values).all()
    assert len(list((readme_folder / "out").glob("1C.GPM.GMI.*.HDF5"))) == 1
    xr.testing.assert_identical(
        namespace["s1"].load(),
        namespace["xgpm"].open_granule(namespace["gmi_file"], scan_mode="S1").load(),
    )
    assert namespace["rain"].sizes["cross_track"] > 0
    assert float(namespace["rain"]["surface_precip"].max()) > 1.0
    assert (readme_folder / "out.zarr").exists()
    out = capsys.readouterr().out
    from xgpm.process.core import _has_bokeh

    if _has_bokeh():
        assert "dask dashboard at http" in out
    else:
        assert "pip install bokeh" in out and "dashboard at http" not in out


def test_process_prints_a_dashboard_link_only_with_bokeh(monkeypatch, capsys):
    from xgpm.process import core

    class Client:
        dashboard_link = "http://127.0.0.1:8787/status"

    monkeypatch.setattr(core, "_has_bokeh", lambda: False)
    assert core._dashboard_link(Client(), object(), progress=True) is None
    assert "pip install bokeh" in capsys.readouterr().out
    assert core._dashboard_link(Client(), object(), progress=False) is None
    assert capsys.readouterr().out == ""
    monkeypatch.setattr(core, "_has_bokeh", lambda: True)
    assert core._dashboard_link(Client(), object(), progress=True) == Client.dashboard_link
    assert "dask dashboard at http://127.0.0.1:8787/status" in capsys.readouterr().out
    assert core._dashboard_link(Client(), None, progress=True) is None  # not our cluster
