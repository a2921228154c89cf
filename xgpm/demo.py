"""``xgpm demo``: a simulated constellation morning over France, end to end, as an HTML report.

The demo simulates (once; later runs reuse the files) GMI, SSMIS F17, the DPR, IMERG and a
ground-radar composite over France, then reads every product back with xgpm's readers and
shows what the library does today: swaths of two radiometers, polarisation-corrected
temperatures, the DPR rain colocated onto GMI footprints, and IMERG scored against the radar
reference. Each step reports its progress; the report is ``<out>/report.html``.
"""

from __future__ import annotations

import argparse
import html
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["run_demo", "add_parser", "run"]

SENSORS = "gmi,ssmis-f17,dpr,imerg,radar"


def _cache_dir(region: str, start: str, hours: float, seed: int) -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "xgpm" / "demo"
    tag = f"{region}-{pd.Timestamp(start):%Y%m%dT%H%M}-{hours:g}h-seed{seed}"
    return root / tag


def _step(message: str, log: list[str]) -> float:
    print(f"[xgpm demo] {message}", flush=True)
    log.append(message)
    return time.perf_counter()


def _save(fig, path: Path) -> str:
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)
    return path.name


def run_demo(
    out: str | os.PathLike = "xgpm-demo",
    *,
    region: str = "france",
    start: str = "2021-06-15T04:30",
    hours: float = 2.5,
    seed: int = 0,
    data_dir: str | os.PathLike | None = None,
    truth_res_km: float = 2.5,
    radar_step: str = "10min",
    progress: bool = True,
) -> Path:
    """Run the demo and return the path of its HTML report.

    Parameters
    ----------
    out : path-like
        Where the report and its figures go.
    region, start, hours, seed
        The simulated window (France, a June morning with GMI, SSMIS and DPR overpasses).
    data_dir : path-like, optional
        Where the simulated granules go; a per-window cache folder by default
        (``$XDG_CACHE_HOME/xgpm/demo/...``), so a second run simulates nothing.
    truth_res_km, radar_step
        Simulation resolution and radar accumulation period (coarser = faster).
    progress : bool
        Progress bars while simulating.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import xgpm
    from xgpm.io.odim import open_radar_composite
    from xgpm.reference import reference_for
    from xgpm.simulate.products import simulate_to_disk

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    data = Path(data_dir) if data_dir else _cache_dir(region, start, hours, seed)
    log: list[str] = []
    t0 = _step(
        f"1/5 simulating {hours:g} h over {region} from {start} into {data} "
        "(reused if already there)",
        log,
    )
    catalog = simulate_to_disk(
        data,
        region,
        start,
        days=hours / 24.0,
        sensors=SENSORS,
        seed=seed,
        truth_res_km=truth_res_km,
        radar_step=radar_step,
        progress=progress,
    )
    log.append(
        f"   {len(catalog)} files in {time.perf_counter() - t0:.0f} s: "
        + ", ".join(f"{n} {p}" for p, n in catalog.groupby("product").size().items())
    )

    def paths(product: str) -> list[Path]:
        return [data / p for p in catalog.loc[catalog["product"] == product, "path"]]

    _step("2/5 reading the granules with xgpm's readers", log)
    gmi_files, ssmis_files, dpr_files = paths("1C-GMI"), paths("1C-SSMIS-F17"), paths("2A-DPR")
    if not gmi_files or not ssmis_files:
        raise xgpm.XGPMError(
            f"no GMI or SSMIS overpass over {region} between {start} and +{hours} h; "
            "choose another start (the default has both)"
        )
    gmi = xgpm.open_granule(gmi_files[-1]).load()
    ssmis = xgpm.open_granule(ssmis_files[0]).load()
    figures: dict[str, str] = {}

    fig, axes = plt.subplots(2, 2, figsize=(12, 10))
    gmi.gpm.plot_swath("Tc", channel="19H", ax=axes[0, 0], vmin=100, vmax=290)
    ssmis.gpm.plot_swath("Tc", channel="19H", ax=axes[0, 1], vmin=100, vmax=290)
    gmi.gpm.plot_swath("Tc", channel="89V", ax=axes[1, 0], vmin=150, vmax=290)
    ssmis.gpm.plot_swath("Tc", channel="91V", ax=axes[1, 1], vmin=150, vmax=290)
    fig.suptitle("The domain gap: GMI 18.7/89 GHz vs SSMIS 19.35/91.655 GHz (footprints differ)")
    figures["swaths"] = _save(fig, out / "swaths.png")

    fig, axes = plt.subplots(1, 2, figsize=(12, 5))
    gmi.gpm.pct(89).gpm.plot_swath(ax=axes[0], vmin=150, vmax=290)
    ssmis.gpm.pct(89).gpm.plot_swath(ax=axes[1], vmin=150, vmax=290)
    fig.suptitle("PCT89 = 1.7 V - 0.7 H: ice scattering of precipitation lowers it")
    figures["pct"] = _save(fig, out / "pct.png")

    _step("3/5 colocating the DPR's rain onto GMI's 89 GHz footprints", log)
    dpr_table = ""
    if dpr_files:
        dpr = xgpm.open_granule(dpr_files[-1], variables=["precipRateNearSurface"]).load()
        coloc = xgpm.colocate(
            dpr,
            gmi,
            radius_km=10.0,
            method="gaussian",
            sensor="GMI",
            channel="89V",
            variables=["precipRateNearSurface"],
            on_empty="nan",
        )
        fig, axes = plt.subplots(1, 2, figsize=(12, 5))
        dpr.gpm.plot_swath("precipRateNearSurface", ax=axes[0], vmin=0, vmax=10, cmap="turbo")
        coloc.gpm.plot_swath("precipRateNearSurface", ax=axes[1], vmin=0, vmax=10, cmap="turbo")
        axes[1].set_title("DPR rain on GMI 89 GHz footprints (Gaussian EFOV)")
        figures["dpr"] = _save(fig, out / "dpr_on_gmi.png")
        seen = coloc["precipRateNearSurface"].values
        dpr_table = (
            f"{np.isfinite(seen).sum()} GMI pixels under the DPR swath; "
            f"{np.nanmean(seen >= 0.2) * 100:.1f} % of them with rain >= 0.2 mm/h"
        )

    _step("4/5 building the radar reference on IMERG's grid and scoring IMERG", log)
    imerg = xgpm.open_granules(
        paths(catalog.loc[catalog["product"].str.startswith("IMERG"), "product"].iloc[0])
    ).load()
    radar = open_radar_composite(paths("RADAR-COMPOSITE"))
    ref = reference_for(radar, imerg, min_coverage=1.0, min_valid_fraction=0.9)
    fc = imerg["precipitation"].sel(time=ref["time"])
    scores = xgpm.score(
        fc.assign_attrs(units="mm/h"),
        ref["precipitation"],
        thresholds=(0.5, 1.0, 5.0),
        scales=(1, 5, 11),
    )
    wettest = int(ref["precipitation"].mean(("lat", "lon")).argmax("time"))
    fig, axes = plt.subplots(1, 2, figsize=(12, 5), sharey=True)
    for ax, field, title in (
        (axes[0], fc.isel(time=wettest), "IMERG (simulated)"),
        (axes[1], ref["precipitation"].isel(time=wettest), "radar reference (0.1 deg, half hour)"),
    ):
        field.plot(ax=ax, vmin=0, vmax=5, cmap="turbo", cbar_kwargs={"label": "mm/h"})
        ax.set_title(f"{title} {pd.Timestamp(fc.time.values[wettest]):%H:%M}")
    figures["imerg"] = _save(fig, out / "imerg_vs_radar.png")
    table = _score_table(scores)

    _step("5/5 writing the report", log)
    report = out / "report.html"
    report.write_text(_html(figures, table, dpr_table, log, catalog, data), encoding="utf-8")
    print(f"[xgpm demo] report: {report.resolve()}", flush=True)
    return report


def _score_table(scores) -> pd.DataFrame:
    rows: dict[str, Any] = {}
    for name in ("bias", "mae", "pearson_r"):
        key = f"pooled_{name}"
        if key in scores:
            rows[name] = float(scores[key])
    for name in ("pod", "far", "csi"):
        key = f"pooled_{name}"
        if key in scores:
            for threshold in scores["threshold"].values:
                rows[f"{name.upper()} >= {threshold:g} mm/h"] = float(
                    scores[key].sel(threshold=threshold)
                )
    if "pooled_fss" in scores:
        for scale in scores["scale"].values:
            rows[f"FSS >= 1 mm/h, {int(scale)} cells"] = float(
                scores["pooled_fss"].sel(threshold=1.0, scale=scale)
            )
    return pd.DataFrame({"IMERG vs radar (pooled)": rows}).round(3)


def _html(figures, table, dpr_text, log, catalog, data) -> str:
    def img(key: str, caption: str) -> str:
        if key not in figures:
            return ""
        return (
            f'<figure><img src="{figures[key]}" alt="{html.escape(caption)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )

    steps = "".join(f"<li>{html.escape(line)}</li>" for line in log)
    files = catalog.groupby("product").size().to_frame("files").to_html()
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>xgpm demo</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }}
img {{ max-width: 100%; border: 1px solid #ddd; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: 4px 8px; }}
figcaption {{ color: #555; font-size: 0.9em; }}
</style></head><body>
<h1>xgpm demo: a simulated constellation morning over France</h1>
<p>Every product below was simulated by <code>xgpm.simulate</code> (a physically grounded
observing-system simulator writing NASA's PPS HDF5 and ODIM_H5 formats) into
<code>{html.escape(str(data))}</code>, then read back with xgpm's readers.</p>
<h2>Steps</h2><ol>{steps}</ol>
<h2>Files</h2>{files}
<h2>Two radiometers, one scene</h2>
{img("swaths", "GMI and SSMIS brightness temperatures")}
{img("pct", "Polarisation-corrected temperature at 89 GHz")}
<h2>The DPR on GMI footprints</h2><p>{html.escape(dpr_text)}</p>
{img("dpr", "DPR near-surface rain and the same convolved to GMI footprints")}
<h2>IMERG against the radar</h2>
{table.to_html()}
{img("imerg", "IMERG and the radar reference for the wettest half hour")}
<h2>Not in this demo yet</h2>
<p>Translation of SSMIS to pseudo-GMI (<code>ds.gpm.to_gmi()</code>), rain retrieval with
DRAIN (<code>ds.gpm.rainrate()</code>) and the learned, reference-free scorer are under
development; this report will show them when they land.</p>
</body></html>
"""


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``xgpm demo``."""
    parser = subparsers.add_parser(
        "demo", help="simulate a constellation morning over France and report on it (HTML)"
    )
    parser.add_argument("--out", default="xgpm-demo", help="report folder (default xgpm-demo)")
    parser.add_argument("--start", default="2021-06-15T04:30")
    parser.add_argument("--hours", type=float, default=2.5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--data-dir", default=None, help="where the simulated files go (default: a cache folder)"
    )
    parser.add_argument(
        "--truth-res-km", type=float, default=2.5, help="simulation resolution (coarser = faster)"
    )
    parser.add_argument("--radar-step", default="10min", help="radar accumulation period")
    parser.add_argument("--no-progress", action="store_true")
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``xgpm demo``."""
    run_demo(
        args.out,
        start=args.start,
        hours=args.hours,
        seed=args.seed,
        data_dir=args.data_dir,
        progress=not args.no_progress,
    )
    return 0
