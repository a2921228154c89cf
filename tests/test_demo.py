"""`xgpm demo` end to end at a small size: every figure and table of the report is there."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from xgpm.cli import main
from xgpm.demo import MIN_RAINY_DPR_PIXELS, pick_showcase


@pytest.mark.slow
def test_demo_writes_a_complete_report(tmp_path, capsys):
    out, data = tmp_path / "report", tmp_path / "data"
    args = [
        "demo",
        "--out",
        str(out),
        "--data-dir",
        str(data),
        "--truth-res-km",
        "10",
        "--radar-step",
        "30min",
        "--no-progress",
    ]
    code = main(args)
    assert code == 0
    report = out / "report.html"
    text = report.read_text()
    figures = (
        "swaths.png",
        "pct.png",
        "dpr_on_gmi.png",
        "to_gmi.png",
        "rain.png",
        "imerg_vs_radar.png",
        "learned_scores.png",
        "cluster_map.png",
    )
    for figure in figures:
        assert f'src="{figure}"' in text
        assert (out / figure).stat().st_size > 10_000, figure
    table = re.search(r"<table.*?IMERG vs radar \(pooled\).*?</table>", text, re.S)
    assert table is not None
    values = re.findall(r"<td>(-?\d+\.\d+|nan)</td>", table.group(0))
    assert len(values) >= 10 and any(v != "nan" for v in values)

    # the showcase: an overpass where the DPR sees rain, GMI and SSMIS close in time
    summary = json.loads((out / "summary.json").read_text())
    show = summary["showcase"]
    assert show["rainy_dpr_pixels"] >= MIN_RAINY_DPR_PIXELS
    assert show["dpr_pixels"] > show["rainy_dpr_pixels"]
    dpr_time, ssmis_time = pd.Timestamp(show["dpr_time"]), pd.Timestamp(show["ssmis_time"])
    assert abs(ssmis_time - dpr_time) < pd.Timedelta("15min")
    assert abs(pd.Timestamp(show["gmi_time"]) - dpr_time) < pd.Timedelta("3min")
    # DRAIN scored against the DPR for both radiometers, in the JSON and in the report
    stats = summary["statistics"]
    assert len(stats) == 2
    gmi_name = next(k for k in stats if k.startswith("DRAIN on GMI"))
    pseudo_name = next(k for k in stats if k.startswith("DRAIN on pseudo-GMI from SSMIS"))
    for name in (gmi_name, pseudo_name):
        scores = stats[name]
        assert scores["pixels"] >= 1000 and scores["rainy pixels (DPR)"] >= 100, name
        assert 0.0 < scores["CSI > 1 mm/h"] <= 1.0, name
        assert 0.0 < scores["POD > 1 mm/h"] <= 1.0 and scores["FAR > 1 mm/h"] < 1.0, name
        assert scores["correlation"] > 0.3, name
    retrieval = re.search(r"<table.*?DRAIN on GMI.*?</table>", text, re.S)
    assert retrieval is not None and "DRAIN on pseudo-GMI from SSMIS F17" in retrieval.group(0)
    csi = re.search(r"CSI &gt; 1 mm/h</th>\s*<td>(\d\.\d+)</td>\s*<td>(\d\.\d+)</td>", text)
    assert csi is not None and all(0.0 < float(v) <= 1.0 for v in csi.groups())
    assert f"{show['rainy_dpr_pixels']} of its {show['dpr_pixels']} pixels rain" in text

    # the learned scorer: one predicted CSI and one labelled cluster per verified half hour
    learned = re.search(r"<table.*?predicted CSI \(no radar\).*?</table>", text, re.S)
    assert learned is not None
    assert len(re.findall(r"CSI \(median \d\.\d\d, IQR", learned.group(0))) >= 1
    assert "report:" in capsys.readouterr().out
    # a second run reuses the simulated files: nothing new is written
    before = sorted(p.stat().st_mtime_ns for p in data.rglob("*.HDF5"))
    assert main(args) == 0
    assert sorted(p.stat().st_mtime_ns for p in data.rglob("*.HDF5")) == before


def test_pick_showcase_without_a_dpr_overpass_falls_back_to_a_tour(tmp_path):
    catalog = pd.DataFrame(
        {
            "product": ["1C-GMI", "1C-SSMIS-F17", "1C-GMI"],
            "path": ["gmi/a.HDF5", "ssmis/b.HDF5", "gmi/c.HDF5"],
            "start": ["2021-06-13T05:00", "2021-06-13T05:30", "2021-06-13T06:00"],
            "end": ["2021-06-13T05:02", "2021-06-13T05:32", "2021-06-13T06:02"],
            "granule": [1, 2, 3],
        }
    )
    show = pick_showcase(catalog, tmp_path)
    assert show["dpr"] is None and show["rainy_dpr_pixels"] == 0
    assert show["gmi"] == tmp_path / "gmi/c.HDF5" and show["ssmis"] == tmp_path / "ssmis/b.HDF5"
