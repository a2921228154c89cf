"""The scorer's training pipeline: simulated archive, tables, training, held-out evaluation.

``xgpm train scorer --simulate WORK`` (and ``benchmarks/train_scorer.py``) run these stages, each
cached under ``WORK`` so a re-run resumes:

1. **Archive** (:func:`archive_days`, :func:`simulate_day`, :func:`build_archive`): for each month
   of 2021-2022, ``days_per_month`` days of simulated IMERG half hours (0.1 deg, one truth sample
   per cell) and the simulated radar composite (30-min steps, truth every 10 km), both on one
   truth world (5 km engine); the radar becomes the reference on IMERG's grid. One NetCDF file
   per day.
2. **Table** (:func:`day_table`, :func:`load_table`): per map, the IMERG fields the scorer reads,
   the true scores against the radar (CSI at 1 mm/h, FSS at 0.5 mm/h over 5 cells) and the
   quality-index context of the baseline. Held out: every 4th month (:func:`is_held_out`).
3. **Models** (:func:`run_pipeline`): the quality-index baseline and the learned scorer fitted on
   the training months; DESOM and DEC clusters on its latent space.
4. **Evaluation** on the held-out months: correlation of predicted vs true scores (learned vs
   baseline), share of the score variance the clusters explain; figures
   (:func:`figures_of`), the docs table (:func:`write_docs_block`), the weights and card.

All numbers come from *simulated* data (xgpm.simulate), not from real IMERG or radar.
"""

from __future__ import annotations

import functools
import json
import os
import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from xgpm.errors import InvalidArgumentError

__all__ = [
    "BEGIN",
    "END",
    "archive_days",
    "build_archive",
    "correlation",
    "day_table",
    "figures_of",
    "is_held_out",
    "load_table",
    "markdown",
    "pipeline_options",
    "run_pipeline",
    "simulate_day",
    "write_docs_block",
]

#: Markers of the generated block in ``docs/scoring.md``.
BEGIN, END = "<!-- train_scorer:begin -->", "<!-- train_scorer:end -->"
IMERG_VARIABLES = (
    "precipitation",
    "precipitationQualityIndex",
    "IRinfluence",
    "MWprecipSource",
    "MWobservationTime",
)
TRUTH_RESOLUTION_KM = 5.0
TARGETS = ("csi_1", "fss_0.5_5")
BASELINE_FEATURES = (
    "quality_mean",
    "quality_q10",
    "quality_q50",
    "quality_q90",
    "ir_only_fraction",
)


def archive_days(days_per_month: int, years=(2021, 2022)) -> list[pd.Timestamp]:
    """The simulated days: ``days_per_month`` days spread over each month of ``years``."""
    day_numbers = np.linspace(5, 25, days_per_month).round().astype(int)
    return [
        pd.Timestamp(year=y, month=m, day=int(d))
        for y in years
        for m in range(1, 13)
        for d in day_numbers
    ]


def is_held_out(times: np.ndarray) -> np.ndarray:
    """Held-out maps: whole months, every 4th month (April, August, December)."""
    months = pd.DatetimeIndex(times).month
    return np.asarray(months % 4 == 0)


def simulate_day(
    day: pd.Timestamp, folder: Path, *, hours: float = 24.0, region: str = "france"
) -> Path:
    """Simulate ``hours`` of IMERG + radar reference from ``day`` into ``folder/<day>.nc``.

    Skipped when the file is there. The radar becomes the reference on IMERG's grid
    (:func:`~xgpm.verify.reference.reference_for`).
    """
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from xgpm.simulate.products import simulate_imerg, simulate_radar
    from xgpm.simulate.scenes import truth_scene
    from xgpm.verify.reference import reference_for

    path = folder / f"{day:%Y-%m-%d}.nc"
    if path.is_file():
        return path
    truth = functools.partial(truth_scene, resolution_km=TRUTH_RESOLUTION_KM)
    end = day + pd.Timedelta(hours=hours)
    imerg = xr.concat(
        [p.data for p in simulate_imerg(region, day, end, subcells=1, truth_fn=truth)],
        dim="time",
    )[list(IMERG_VARIABLES)]
    radar = xr.concat(
        [
            p.data
            for p in simulate_radar(
                region, day, end, step="30min", truth_res_km=10.0, truth_fn=truth
            )
        ],
        dim="time",
    )
    ref = reference_for(radar, imerg).load()
    imerg = imerg.sel(time=ref["time"])
    out = imerg.copy()
    out["reference"] = (("time", "lat", "lon"), ref["precipitation"].values.astype("float32"))
    out["reference"].attrs["units"] = "mm/h"
    tmp = path.with_suffix(".tmp")
    encoding = {v: {"zlib": True, "complevel": 3} for v in out.data_vars}
    out.to_netcdf(tmp, engine="h5netcdf", encoding=encoding)
    tmp.rename(path)
    return path


def build_archive(
    folder: Path,
    days: list[pd.Timestamp],
    workers: int = 1,
    *,
    hours: float = 24.0,
    region: str = "france",
    progress: bool = True,
) -> list[Path]:
    """Simulate every day (resumably), ``workers`` processes at once, with progress."""
    from tqdm import tqdm

    folder.mkdir(parents=True, exist_ok=True)
    todo = [d for d in days if not (folder / f"{d:%Y-%m-%d}.nc").is_file()]
    # one day of every month first: a run cut short still spans the two years
    todo.sort(key=lambda d: (d.day, d))
    if todo:
        if workers > 1:
            from concurrent.futures import ProcessPoolExecutor, as_completed

            with ProcessPoolExecutor(workers) as pool:
                futures = [
                    pool.submit(simulate_day, d, folder, hours=hours, region=region) for d in todo
                ]
                for future in tqdm(
                    as_completed(futures),
                    total=len(todo),
                    desc="simulate days",
                    disable=not progress,
                ):
                    future.result()
        else:
            for d in tqdm(todo, desc="simulate days", disable=not progress):
                simulate_day(d, folder, hours=hours, region=region)
    return [folder / f"{d:%Y-%m-%d}.nc" for d in days]


def day_table(path: Path) -> dict[str, np.ndarray]:
    """Per-map inputs, true scores and baseline context of one simulated day (cached .npz)."""
    from xgpm.verify.analysis import map_context
    from xgpm.verify.learned.features import imerg_features, target_table

    cache = path.with_suffix(".table.npz")
    if cache.is_file():
        with np.load(cache) as data:
            return dict(data)
    ds = xr.load_dataset(path, engine="h5netcdf")
    imerg = ds[list(IMERG_VARIABLES)]
    ref = ds["reference"].rename("precipitation")
    targets = target_table(imerg["precipitation"], ref)
    context = map_context(imerg, ref.to_dataset())
    table = {
        "time": ds["time"].values.astype("datetime64[ns]"),
        "features": imerg_features(imerg).values.astype("float16"),
        "targets": np.stack([targets[t].values for t in TARGETS], axis=1),
        "targets_all": np.stack([targets[f"n_events_{t}"].values for t in TARGETS], axis=1).astype(
            "int64"
        ),
        "context": np.stack([context[f].values for f in BASELINE_FEATURES], axis=1),
        "lat_first": float(ds["lat"].values[0]),
        "lon_first": float(ds["lon"].values[0]),
    }
    np.savez(cache, **table)
    return table


def day_verified(path: Path) -> np.ndarray:
    """Per cell, the number of the day's maps where IMERG and the reference are both finite."""
    cache = path.with_suffix(".verified.npy")
    if cache.is_file():
        return np.load(cache)
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        count = (ds["precipitation"].notnull() & ds["reference"].notnull()).sum("time").values
    np.save(cache, count)
    return count


def load_table(paths: list[Path], progress: bool = True) -> dict[str, np.ndarray]:
    """All days' tables concatenated (days not simulated yet are skipped)."""
    from tqdm import tqdm

    tables = [
        day_table(p)
        for p in tqdm([p for p in paths if p.is_file()], desc="tables", disable=not progress)
    ]
    if not tables:
        raise InvalidArgumentError("no simulated day found; run without --skip-simulation first")
    out = {k: np.concatenate([t[k] for t in tables]) for k in tables[0] if np.ndim(tables[0][k])}
    out["lat_first"], out["lon_first"] = tables[0]["lat_first"], tables[0]["lon_first"]
    return out


def verified_fraction(paths: list[Path], times: np.ndarray, train: np.ndarray) -> np.ndarray:
    """Fraction of the training maps verified, per cell (the scorer's area weights)."""
    days = {str(d)[:10] for d in times[train]}
    counts = [day_verified(p) for p in paths if p.is_file() and p.stem in days]
    return np.sum(counts, axis=0) / train.sum()


def markdown(df: pd.DataFrame, digits: int = 3, count_prefix: str | None = None) -> str:
    """A pipe table (no tabulate dependency).

    Parameters
    ----------
    df : pandas.DataFrame
        The table; its index becomes the first columns.
    digits : int
        Decimals of the float cells (NaN: an empty cell).
    count_prefix : str, optional
        Float cells of the columns whose name starts with it are counts, written without
        decimals.

    Returns
    -------
    str
    """
    df = df.reset_index()
    header = "| " + " | ".join(map(str, df.columns)) + " |"
    rule = "| " + " | ".join("---" for _ in df.columns) + " |"
    rows = []
    for _, row in df.iterrows():
        cells = []
        for column, value in row.items():
            if (
                count_prefix is not None
                and str(column).startswith(count_prefix)
                and isinstance(value, float | np.floating)
            ):
                cells.append("" if np.isnan(value) else f"{value:.0f}")
            elif isinstance(value, float | np.floating):
                cells.append("" if np.isnan(value) else f"{value:.{digits}f}")
            else:
                cells.append(str(value))
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join([header, rule, *rows])


def correlation(a: np.ndarray, b: np.ndarray) -> tuple[float, int]:
    """Pearson r of the finite pairs and their number (NaN under 3 pairs)."""
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3:
        return float("nan"), int(ok.sum())
    return float(np.corrcoef(a[ok], b[ok])[0, 1]), int(ok.sum())


def write_docs_block(doc: Path, block: str, begin: str = BEGIN, end: str = END) -> None:
    """Replace the text between the markers ``begin`` and ``end`` in ``doc`` by ``block``.

    Parameters
    ----------
    doc : Path
        The Markdown file.
    block : str
        The new text between the markers.
    begin, end : str
        The markers (default :data:`BEGIN` and :data:`END`).

    Raises
    ------
    InvalidArgumentError
        A marker is not in ``doc`` (nothing is written).
    """
    text = doc.read_text()
    if begin not in text or end not in text:
        raise InvalidArgumentError(f"{doc}: markers {begin} / {end} not found")
    text = re.sub(
        re.escape(begin) + r".*?" + re.escape(end),
        lambda _: f"{begin}\n{block}\n{end}",
        text,
        flags=re.S,
    )
    doc.write_text(text)


#: The options of :func:`run_pipeline` that ``xgpm train scorer --simulate`` and
#: ``benchmarks/train_scorer.py`` both read from their command line, under the same names.
PIPELINE_OPTIONS: tuple[str, ...] = (
    "days_per_month",
    "workers",
    "hours",
    "only_archive",
    "skip_simulation",
    "epochs",
    "minutes",
    "latent_dim",
    "reconstruction_weight",
    "learning_rate",
    "seed",
    "images",
    "save",
)


def pipeline_options(args: Any) -> dict[str, Any]:
    """The :data:`PIPELINE_OPTIONS` of parsed command-line arguments, as keywords.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed arguments with an attribute for each name of :data:`PIPELINE_OPTIONS`.

    Returns
    -------
    dict
        Keyword arguments of :func:`run_pipeline`.
    """
    return {name: getattr(args, name) for name in PIPELINE_OPTIONS}


def run_pipeline(
    work: str | os.PathLike,
    *,
    days_per_month: int = 3,
    workers: int = 1,
    hours: float = 24.0,
    region: str = "france",
    only_archive: bool = False,
    skip_simulation: bool = False,
    epochs: int = 30,
    minutes: float | None = 10.0,
    latent_dim: int = 16,
    som_shape: tuple[int, int] = (3, 4),
    dec_clusters: int = 8,
    reconstruction_weight: float = 0.05,
    learning_rate: float = 2e-3,
    seed: int = 0,
    images: str | os.PathLike | None = None,
    docs: str | os.PathLike | None = None,
    save: bool = False,
    name: str = "scorer",
    directory: str | None = None,
    command: str = "xgpm train scorer --simulate WORK",
    progress: bool = True,
) -> dict[str, Any]:
    """Simulate the archive, build the tables, train and evaluate; figures, docs table, weights.

    Parameters
    ----------
    work : path
        Cache folder (``archive/`` of daily NetCDF files and their tables, ``train_log.txt``,
        ``results.json``); a re-run resumes.
    som_shape, dec_clusters
        DESOM's grid and DEC's cluster count (at most the number of training maps).
    days_per_month, hours, region
        ``days_per_month`` days of each month of 2021-2022, ``hours`` simulated from each
        day's midnight (24: whole days; fewer for a quick run), over ``region``.
    images : path, optional
        Write the figures there (``scorer_*.png``).
    docs : path, optional
        Markdown file whose ``<!-- train_scorer:begin -->`` / ``end`` block gets the tables.
    save : bool
        Write the weights and card ``name`` into the registry (``directory``, default the
        package's).
    command : str
        The command line quoted in the card and the docs block.

    Returns
    -------
    dict
        ``summary`` (a sentence), ``results`` (per target: held-out correlations, gains, variance
        explained), ``clusters`` (DataFrame), ``figures`` (paths), ``saved`` (card path or None);
        only ``summary`` when ``only_archive``.
    """
    work = Path(work)
    days = archive_days(days_per_month)
    t0 = time.perf_counter()
    if not skip_simulation:
        build_archive(
            work / "archive", days, workers, hours=hours, region=region, progress=progress
        )
    paths = [work / "archive" / f"{d:%Y-%m-%d}.nc" for d in days]
    simulated = [p for p in paths if p.is_file()]
    summary = f"archive: {len(simulated)} of {len(days)} days ({time.perf_counter() - t0:.0f} s)"
    print(summary)
    if only_archive:
        return {"summary": summary}

    import torch

    from xgpm.verify.learned import QualityIndexBaseline
    from xgpm.verify.learned import clusters as cl
    from xgpm.verify.learned import scorer as learned

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    table = load_table(paths, progress=progress)
    t_table = time.perf_counter() - t0
    times = table["time"]
    test = is_held_out(times)
    train = ~test
    features = table["features"].astype("float32")
    targets = table["targets"].astype("float32")
    n_maps = times.size
    defined = np.isfinite(targets)
    print(
        f"{n_maps} maps ({train.sum()} training, {test.sum()} held-out); defined: "
        + ", ".join(f"{t} {defined[:, i].mean():.1%}" for i, t in enumerate(TARGETS))
    )

    # quality-index baseline: same training maps
    context_ds = xr.Dataset(
        {f: ("time", table["context"][:, i]) for i, f in enumerate(BASELINE_FEATURES)},
        coords={"time": times},
    )
    target_ds = xr.Dataset(
        {t: ("time", targets[:, i].astype("float64")) for i, t in enumerate(TARGETS)},
        coords={"time": times},
    )
    baseline = QualityIndexBaseline().fit(context_ds.isel(time=train), target_ds.isel(time=train))
    baseline_pred = baseline.predict(context_ds)

    # learned scorer
    t0 = time.perf_counter()
    area = verified_fraction(paths, times, train)
    log_path = work / "train_log.txt"
    log_file = log_path.open("w")
    result = learned.train_scorer(
        features[train],
        targets[train],
        validation=(features[test], targets[test]),
        latent_dim=latent_dim,
        som_shape=som_shape,
        n_dec_clusters=dec_clusters,
        reconstruction_weight=reconstruction_weight,
        learning_rate=learning_rate,
        epochs=epochs,
        minutes=minutes,
        seed=seed,
        grid={
            "lat_first": float(table["lat_first"]),
            "lon_first": float(table["lon_first"]),
            "height": int(features.shape[2]),
            "width": int(features.shape[3]),
            "step_deg": 0.1,
        },
        area=area,
        log=lambda line: print(line, file=log_file, flush=True),
    )
    log_file.close()
    t_train = time.perf_counter() - t0
    som, dec = learned.fit_clusters(
        result.model, features[train], targets[train], result.mean, result.std, seed=seed
    )
    z = learned.latent(result.model, features, result.mean, result.std)
    x_std = learned._standardise(features, result.mean, result.std)
    predicted = learned._batched(result.model, x_std)[0]
    som_id, dec_id = som.predict(z), dec.predict(z)

    rows = {}
    for i, name in enumerate(TARGETS):
        r_learned, n = correlation(predicted[test, i], targets[test, i])
        r_base, _ = correlation(baseline_pred[name].values[test], targets[test, i])
        r_learned_train, _ = correlation(predicted[train, i], targets[train, i])
        rmse = float(np.sqrt(np.nanmean((predicted[test, i] - targets[test, i]) ** 2)))
        rows[name] = {
            "n held-out": n,
            "defined": f"{defined[test, i].mean():.0%}",
            "learned r": r_learned,
            "QI baseline r": r_base,
            "gain": r_learned - r_base,
            "learned rmse": rmse,
            "learned r (train)": r_learned_train,
            "DESOM var. explained": cl.variance_explained(targets[test, i], som_id[test]),
            "DEC var. explained": cl.variance_explained(targets[test, i], dec_id[test]),
        }
    results = pd.DataFrame.from_dict(rows, orient="index")
    results.index.name = "target"

    cluster_rows = []
    for kind, ids, stats in (
        ("DESOM", som_id, result.model.som_stats.numpy()),
        ("DEC", dec_id, result.model.dec_stats.numpy()),
    ):
        for k in range(stats.shape[0]):
            held = targets[test & (ids == k), 0]
            held = held[np.isfinite(held)]
            cluster_rows.append(
                {
                    "clustering": kind,
                    "cluster": k,
                    "label (training maps, CSI@1)": cl.cluster_label(*stats[k, 0, 1:]),
                    "n held-out": int(held.size),
                    "held-out median CSI": float(np.median(held)) if held.size else np.nan,
                }
            )
    clusters_table = pd.DataFrame(cluster_rows).set_index(["clustering", "cluster"])

    torch.set_num_threads(threads)
    figures: list[Path] = []
    if images is not None:
        import matplotlib

        matplotlib.use("Agg")
        images = Path(images)
        images.mkdir(parents=True, exist_ok=True)
        figures = figures_of(
            images, result, predicted, baseline_pred, targets, test, som_id, dec_id, features
        )
    total = time.perf_counter() - t0
    simulated_days = pd.DatetimeIndex([pd.Timestamp(p.stem) for p in simulated])
    per_day = ", ".join(
        f"the {day}th of {int((simulated_days.day == day).sum())} months"
        for day in sorted(set(simulated_days.day))
    )
    summary = (
        f"{len(simulated)} simulated days of 2021-2022 ({per_day}; {len(days)} planned)"
        f", {n_maps} half-hourly maps of {features.shape[2]} x {features.shape[3]} cells; "
        f"held out: every 4th month (Apr, Aug, Dec), {test.sum()} maps; training "
        f"{train.sum()} maps"
    )
    history = result.history
    print("\n" + summary)
    print(
        f"training: {len(history)} epochs, {t_train:.0f} s; "
        f"{learned.count_parameters(result.model)} parameters"
    )
    print("\n" + results.to_string())
    print("\n" + clusters_table.to_string())

    saved = None
    if save:
        from xgpm import models

        updates = result.card_updates()
        updates["training_data"] = (
            "Trained on SIMULATED data only (xgpm.simulate, not real IMERG or radar): "
            + summary
            + ". Targets: CSI at 1 mm/h and FSS at 0.5 mm/h over 5 cells against the simulated "
            "radar reference (xgpm.verify.reference.reference_for), defined where >= 20 "
            "verified cells are events."
        )
        updates["metrics"] = {
            "dataset": "simulated held-out months (Apr, Aug, Dec 2021-2022)",
            "command": command,
            "date": pd.Timestamp.now("UTC").strftime("%Y-%m-%d %H:%M UTC"),
            **{
                f"{name}_{key.replace(' ', '_').replace('.', '')}": round(float(v), 4)
                for name, row in rows.items()
                for key, v in row.items()
                if isinstance(v, float | int)
            },
        }
        updates["history"] = [{k: round(float(v), 5) for k, v in h.items()} for h in history]
        base = name if name in models.list_models() else "scorer"
        saved = models.save(name, result.model, updates, base=base, directory=directory)
        print(f"saved {saved}")

    if docs is not None:
        block = "\n\n".join(
            [
                f"Output of `{command}`"
                f" (simulated data: {summary}). Training: {len(history)} epochs in "
                f"{t_train:.0f} s on 1 CPU thread; table building {t_table:.0f} s.",
                "**Predicted vs true per-map score on the held-out months** (Pearson r; "
                "variance explained = between-cluster / total variance of the true score on "
                "the held-out maps, clusters fitted on the training maps):",
                markdown(results),
                "**Clusters** (labels from the training maps' true CSI at 1 mm/h):",
                markdown(clusters_table),
                "\n".join(f"![{f.stem}](images/{f.name})" for f in figures),
            ]
        )
        write_docs_block(Path(docs), block)
        print(f"table written to {docs}")
    (work / "results.json").write_text(
        json.dumps({"summary": summary, "results": rows}, indent=2, default=str)
    )
    print(f"total {total:.0f} s")
    return {
        "summary": summary,
        "results": rows,
        "clusters": clusters_table,
        "figures": figures,
        "saved": saved,
    }


def figures_of(images, result, predicted, baseline_pred, targets, test, som_id, dec_id, features):
    """The scorer's figures (``scorer_*.png`` in ``images``): their paths."""
    import matplotlib.pyplot as plt

    from xgpm.verify.learned import clusters as cl

    paths = []
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    for i, (name, ax) in enumerate(zip(TARGETS, axes, strict=True)):
        t = targets[test, i]
        ok = np.isfinite(t)
        ax.scatter(
            t[ok],
            baseline_pred[name].values[test][ok],
            s=4,
            alpha=0.4,
            label=f"QI baseline (r = {correlation(baseline_pred[name].values[test], t)[0]:.2f})",
            color="tab:grey",
        )
        ax.scatter(
            t[ok],
            predicted[test, i][ok],
            s=4,
            alpha=0.5,
            label=f"learned (r = {correlation(predicted[test, i], t)[0]:.2f})",
            color="tab:blue",
        )
        ax.plot([0, 1], [0, 1], "k--", lw=0.8)
        ax.set_xlabel(f"true {name}")
        ax.set_ylabel(f"predicted {name}")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.legend(fontsize=8)
    fig.suptitle("Held-out months (simulated data)", fontsize=10)
    fig.tight_layout()
    paths.append(images / "scorer_predicted_vs_true.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    model = result.model
    paths.append(images / "scorer_som_csi.png")
    cl.plot_som_scores(model.som_stats.numpy()[:, 0, :], model.som_shape, path=paths[-1])
    precip = np.expm1(features[:, 0].astype("float32"))
    precip = np.where(features[:, 4] > 0.5, precip, np.nan)
    for kind, ids, stats in (
        ("som", som_id, model.som_stats.numpy()),
        ("dec", dec_id, model.dec_stats.numpy()),
    ):
        titles = [cl.cluster_label(*s[0, 1:]) for s in stats]
        paths.append(images / f"scorer_{kind}_examples.png")
        cl.plot_cluster_examples(
            precip[test],
            ids[test],
            titles,
            per_cluster=4,
            scores=targets[test, 0],
            path=paths[-1],
        )
    fig, ax = plt.subplots(figsize=(5, 3.5))
    epochs = [h["epoch"] for h in result.history]
    ax.plot(epochs, [h["score_mse"] for h in result.history], label="train score MSE")
    ax.plot(epochs, [h["val_score_mse"] for h in result.history], label="held-out score MSE")
    ax.plot(epochs, [h["reconstruction_mse"] for h in result.history], label="train recon. MSE")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.legend(fontsize=8)
    fig.tight_layout()
    paths.append(images / "scorer_training.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)
    return paths
