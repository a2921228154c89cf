"""`xgpm demo` end to end at a small size: every figure and table of the report is there."""

from __future__ import annotations

import re

import pytest

from xgpm.cli import main


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
    # rain retrieved by DRAIN, scored against the DPR where it saw
    retrieval = re.search(r"<table.*?DRAIN on GMI vs DPR.*?</table>", text, re.S)
    assert retrieval is not None
    csi = re.search(r"CSI &gt; 1 mm/h</th>\s*<td>(\d+\.\d+)</td>", retrieval.group(0))
    assert csi is not None and 0.0 < float(csi.group(1)) <= 1.0
    # the learned scorer: one predicted CSI and one labelled cluster per verified half hour
    learned = re.search(r"<table.*?predicted CSI \(no radar\).*?</table>", text, re.S)
    assert learned is not None
    assert len(re.findall(r"CSI \(median \d\.\d\d, IQR", learned.group(0))) >= 1
    assert "report:" in capsys.readouterr().out
    # a second run reuses the simulated files: nothing new is written
    before = sorted(p.stat().st_mtime_ns for p in data.rglob("*.HDF5"))
    assert main(args) == 0
    assert sorted(p.stat().st_mtime_ns for p in data.rglob("*.HDF5")) == before
