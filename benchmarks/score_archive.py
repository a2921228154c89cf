"""Score a simulated IMERG archive against the radar reference, analyse it, fit the QI baseline.

Simulates (or reuses from ``--cache``) IMERG-like half hours and radar composites over France for
one period per season at coarse settings, builds the radar reference on IMERG's grid, scores
every map (``xgpm.verify.score``), describes each map (``map_context``), pools the scores by MW
source class, season, regime and binned quality index (``stratified_scores``), fits the
quality-index baseline on the first periods and evaluates it on the last one. Prints the tables,
saves ``docs/images/scoring_*.png`` and (with ``--write-docs``) the tables into
``docs/scoring.md`` between the ``<!-- score_archive:begin -->`` / ``end`` markers.

Run::

    python benchmarks/score_archive.py --write-docs

All numbers come from *simulated* data (xgpm.simulate), not from real IMERG or radar.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

ROOT = Path(__file__).resolve().parents[1]
PERIOD_STARTS = ("2021-01-15", "2021-04-15", "2021-07-15", "2021-10-15")
BEGIN, END = "<!-- score_archive:begin -->", "<!-- score_archive:end -->"


def simulate_periods(cache: Path, starts, hours: float, start_hour: int) -> list[Path]:
    """Simulate (resumably) each period into ``cache/<date>``; returns the folders."""
    from xgpm.simulate.products import simulate_to_disk

    folders = []
    for day in starts:
        folder = cache / f"{day}_{start_hour:02d}h_{hours:g}h"
        start = pd.Timestamp(day) + pd.Timedelta(hours=start_hour)
        t0 = time.perf_counter()
        simulate_to_disk(
            folder,
            "france",
            start,
            days=hours / 24.0,
            sensors="imerg,radar",
            seed=0,
            truth_res_km=10,
            radar_step="30min",
            progress=False,
        )
        print(f"  {folder.name}: {time.perf_counter() - t0:.1f} s", flush=True)
        folders.append(folder)
    return folders


def load_period(folder: Path) -> tuple[xr.Dataset, xr.Dataset]:
    """IMERG and its radar reference (same grid, same half hours), in memory."""
    import xgpm
    from xgpm.io.odim import open_radar_composite
    from xgpm.reference import reference_for

    imerg = xgpm.open_granules(sorted((folder / "IMERG-FR").glob("*.HDF5"))).load()
    radar = open_radar_composite(sorted((folder / "RADAR-COMPOSITE").glob("*.h5")))
    ref = reference_for(radar, imerg).load()
    imerg = imerg.sel(time=ref["time"])
    # IMERG's float32 grid vs the reference's float64 one: same cells, one set of labels.
    ref = ref.assign_coords(lat=imerg["lat"], lon=imerg["lon"])
    ref["precipitation"].attrs["units"] = "mm/h"
    return imerg, ref


def markdown(df: pd.DataFrame, digits: int = 3) -> str:
    """A pipe table (no tabulate dependency); columns named ``n...`` are counts."""
    from xgpm.pipelines.scorer import markdown as _markdown

    return _markdown(df, digits, count_prefix="n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/xgpm-score-archive"))
    parser.add_argument("--hours", type=float, default=12.0, help="hours simulated per season")
    parser.add_argument("--start-hour", type=int, default=6, help="UTC hour each period starts")
    parser.add_argument("--images", type=Path, default=ROOT / "docs" / "images")
    parser.add_argument("--write-docs", action="store_true", help="update docs/scoring.md")
    args = parser.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    import xgpm.verify as xv
    from xgpm.scoring import QualityIndexBaseline, target_scores
    from xgpm.verify import analysis as an

    t_start = time.perf_counter()
    print(f"simulating/reusing {len(PERIOD_STARTS)} x {args.hours:g} h in {args.cache}")
    folders = simulate_periods(args.cache, PERIOD_STARTS, args.hours, args.start_hour)
    t_sim = time.perf_counter() - t_start

    t0 = time.perf_counter()
    pairs = [load_period(f) for f in folders]
    imerg = xr.concat([p[0] for p in pairs], dim="time", data_vars="all", join="exact")
    ref = xr.concat([p[1] for p in pairs], dim="time", data_vars="all", join="exact")
    period = xr.DataArray(
        np.concatenate([np.full(p[0].sizes["time"], i) for i, p in enumerate(pairs)]),
        dims="time",
        coords={"time": imerg["time"]},
    )
    t_load = time.perf_counter() - t0

    t0 = time.perf_counter()
    thresholds, scales = (0.1, 0.5, 1.0, 5.0), (1, 3, 5, 11)
    metrics = ["csi", "pod", "far", "frequency_bias", "fss", "bias", "pearson_r"]
    forecast, reference = imerg["precipitation"], ref["precipitation"]
    scores = xv.score(
        forecast, reference, thresholds=thresholds, scales=scales, metrics=metrics
    ).compute()
    context = an.map_context(imerg, ref)
    quality_bin = an.bin_labels(
        context["quality_mean"], (0.0, 0.5, 0.6, 0.7, 0.8, 1.0), name="quality_bin"
    )
    groupings = {
        "source_class": context["source_class"],
        "season": context["season"],
        "regime": context["regime"],
        "quality_bin": quality_bin,
    }
    tables = {}
    for name, labels in groupings.items():
        strat = an.stratified_scores(
            forecast, reference, labels, thresholds=thresholds, scales=scales, metrics=metrics
        ).compute()
        tables[name] = an.scores_table(strat, threshold=1.0, fss_threshold=0.5, scale=5)
        an.plot_scores_by(
            strat,
            threshold=1.0,
            fss_threshold=0.5,
            scale=5,
            title=f"IMERG vs radar (simulated) by {name}",
            path=args.images / f"scoring_by_{name}.png",
        )
    # Per cell rather than per map: MW cells vs IR-only cells of every map, through score's mask.
    has_mw = imerg["MWprecipSource"].fillna(0) > 0
    cell_rows = []
    for label, cell_mask in (("MW cells", has_mw), ("IR-only cells", ~has_mw)):
        pooled_cells = xv.score(
            forecast,
            reference,
            thresholds=thresholds,
            scales=scales,
            metrics=metrics,
            mask=cell_mask,
        )
        pooled_cells = pooled_cells[[v for v in pooled_cells.data_vars if v.startswith("pooled_")]]
        pooled_cells = pooled_cells.rename({v: v.removeprefix("pooled_") for v in pooled_cells})
        cell_rows.append(pooled_cells.expand_dims(cell_source=[label]).compute())
    tables["cell_source"] = an.scores_table(
        xr.concat(cell_rows, dim="cell_source"), threshold=1.0, fss_threshold=0.5, scale=5
    )
    t_analysis = time.perf_counter() - t0

    targets = target_scores(scores, csi_threshold=1.0, fss_threshold=0.5, fss_scale=5)
    an.plot_score_vs(
        context["quality_mean"],
        targets["csi_1"],
        xlabel="mean precipitationQualityIndex",
        ylabel="CSI @ 1 mm/h",
        path=args.images / "scoring_csi_vs_quality.png",
    )
    an.plot_score_vs(
        context["quality_mean"],
        targets["fss_0.5_5"],
        xlabel="mean precipitationQualityIndex",
        ylabel="FSS @ 0.5 mm/h, 5 cells",
        path=args.images / "scoring_fss_vs_quality.png",
    )

    t0 = time.perf_counter()
    last = int(period.max())
    train, test = (period < last).values, (period == last).values
    model = QualityIndexBaseline().fit(context.isel(time=train), targets.isel(time=train))
    evaluation = model.evaluate(context.isel(time=test), targets.isel(time=test))
    in_sample = model.evaluate(context.isel(time=train), targets.isel(time=train))
    t_fit = time.perf_counter() - t0
    total = time.perf_counter() - t_start

    pooled_vars = ["pooled_n_valid", "pooled_csi", "pooled_pod", "pooled_far", "pooled_fss"]
    pooled_all = scores[pooled_vars].rename({v: v.removeprefix("pooled_") for v in pooled_vars})
    pooled = an.scores_table(
        pooled_all.expand_dims(sample=["all maps"]), threshold=1.0, fss_threshold=0.5, scale=5
    )
    n_maps, n_dry = scores.sizes["time"], int((context["regime"] == "dry").sum())
    summary = (
        f"{n_maps} half-hourly maps ({len(folders)} periods of {args.hours:g} h from "
        f"{args.start_hour:02d}:00 UTC on {', '.join(PERIOD_STARTS)}; {n_dry} dry), "
        f"{imerg.sizes['lat']} x {imerg.sizes['lon']} cells of 0.1 deg"
    )
    print("\n" + summary)
    print("\npooled over all maps:\n" + pooled.to_string())
    for name, table in tables.items():
        print(f"\nby {name}:\n" + table.to_string())
    print("\nbaseline coefficients:")
    for name, coef in model.coefficients.items():
        print(
            f"  {name}: "
            + ", ".join(f"{f}={c:+.3f}" for f, c in zip(model.features, coef, strict=True))
            + f", intercept={model.intercepts[name]:+.3f}"
        )
    print(f"\nbaseline, held-out period ({PERIOD_STARTS[last]}, {int(test.sum())} maps):")
    print(evaluation.to_string())
    print("\nbaseline, training periods (in-sample):\n" + in_sample.to_string())
    timing = (
        f"simulate {t_sim:.0f} s, load+reference {t_load:.0f} s, score+analysis "
        f"{t_analysis:.0f} s, baseline {t_fit:.2f} s, total {total:.0f} s"
    )
    print("\n" + timing)

    if args.write_docs:
        parts = [
            f"Output of `python benchmarks/score_archive.py --write-docs` (simulated data: "
            f"{summary}). Timing on the development machine (2 shared CPU cores): {timing}.",
            "**Pooled over all maps** (CSI/POD/FAR at 1 mm/h, FSS at 0.5 mm/h over 5 cells):",
            markdown(pooled),
        ]
        for name, table in tables.items():
            parts += [f"**By {name}:**", markdown(table)]
        parts += [
            f"**Quality-index baseline**, trained on the first {last} periods "
            f"({int(train.sum())} maps), tested on {PERIOD_STARTS[last]} ({int(test.sum())} "
            f"maps):",
            markdown(evaluation),
            "In-sample (training periods):",
            markdown(in_sample),
            "`cell_source` pools the cells with / without a MW estimate of every map (a `mask` "
            "in `xgpm.verify.score`); its FSS treats the other cells as non-events, so read the "
            "categorical columns there.",
        ]
        block = "\n\n".join(parts)
        from xgpm.errors import InvalidArgumentError
        from xgpm.pipelines.scorer import write_docs_block

        doc = ROOT / "docs" / "scoring.md"
        try:
            write_docs_block(doc, block, BEGIN, END)
        except InvalidArgumentError:
            print(f"{doc}: markers {BEGIN} / {END} not found; tables not written", file=sys.stderr)
            return 1
        print(f"tables written to {doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
