"""``xgpm train scorer --archive FILES``: train the learned IMERG scorer and register it.

The archive is one or more NetCDF (or Zarr) files of IMERG half hours ``(time, lat, lon)`` with
``precipitation``, ``precipitationQualityIndex``, ``IRinfluence``, ``MWprecipSource`` and the
reference (radar on IMERG's grid, e.g. from :func:`xgpm.reference.reference_for`) as a variable
``reference`` (``--reference-var``). Whole months are held out (every ``--holdout-every``-th
month) to report the held-out correlation in the card; the model (autoencoder + score head +
DESOM and DEC clusters) is saved with :func:`xgpm.models.save` (weights + card).

Wired into ``xgpm train`` (``xgpm/pipelines/cli.py``) by :func:`add_arguments` and :func:`run`;
also runs alone: ``python -m xgpm.scoring.cli --archive 'DIR/*.nc'``.
"""

from __future__ import annotations

import argparse
import glob
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from xgpm.errors import InvalidArgumentError

__all__ = ["add_arguments", "main", "run", "train_from_archive"]

#: (flag, keyword arguments of ``add_argument``): the scorer's options of ``xgpm train``.
_OPTIONS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("--archive", {"nargs": "+", "help": "scorer: IMERG + reference files (NetCDF/Zarr, globs)"}),
    ("--reference-var", {"default": "reference", "help": "scorer: reference variable name"}),
    ("--minutes", {"type": float, "default": None, "help": "wall-time cap of training"}),
    ("--latent-dim", {"type": int, "default": 16, "help": "scorer: latent size"}),
    ("--som-shape", {"default": "3x4", "help": "scorer: DESOM grid, ROWSxCOLS"}),
    ("--dec-clusters", {"type": int, "default": 8, "help": "scorer: DEC clusters"}),
    ("--holdout-every", {"type": int, "default": 4, "help": "scorer: hold out every Nth month"}),
    ("--min-events", {"type": int, "default": 20, "help": "scorer: events for a defined score"}),
    ("--seed", {"type": int, "default": 0}),
    ("--epochs", {"type": int, "default": 30}),
    ("--batch-size", {"type": int, "default": 32}),
    ("--learning-rate", {"type": float, "default": 2e-3}),
    ("--name", {"help": "save under this name (default: MODEL)"}),
    ("--output-dir", {"help": "registry directory to write (default: the package's)"}),
    ("--training-data", {"default": None, "help": "sentence for the card's training_data"}),
)


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the scorer's options to ``parser`` (options it already has are kept as they are)."""
    existing = set(parser._option_string_actions)  # noqa: SLF001 - argparse has no public view
    for flag, kwargs in _OPTIONS:
        if flag not in existing:
            parser.add_argument(flag, **kwargs)
    return parser


def _paths(patterns: Sequence[str]) -> list[str]:
    out: list[str] = []
    for pattern in patterns:
        matches = sorted(glob.glob(pattern))
        if not matches:
            raise InvalidArgumentError(f"--archive: {pattern!r} matches no file.")
        out += matches
    return out


def _open(path: str) -> Any:
    import xarray as xr

    if Path(path).is_dir() or path.endswith(".zarr"):
        return xr.open_zarr(path)
    return xr.open_dataset(path)


def _som_shape(text: str) -> tuple[int, int]:
    try:
        rows, cols = (int(v) for v in str(text).lower().split("x"))
    except ValueError:
        raise InvalidArgumentError(
            f"--som-shape: expected ROWSxCOLS like 3x4, got {text!r}."
        ) from None
    return rows, cols


def train_from_archive(
    archive: Sequence[str],
    *,
    name: str = "scorer",
    directory: str | None = None,
    reference_var: str = "reference",
    epochs: int = 30,
    minutes: float | None = None,
    batch_size: int = 32,
    learning_rate: float = 2e-3,
    latent_dim: int = 16,
    som_shape: tuple[int, int] = (3, 4),
    dec_clusters: int = 8,
    holdout_every: int = 4,
    min_events: int = 20,
    seed: int = 0,
    training_data: str | None = None,
    progress: bool = True,
) -> Path:
    """Train the scorer on an archive of IMERG maps + reference and save it; returns the card.

    See the module docstring for the archive layout. Raises
    :class:`~xgpm.errors.InvalidArgumentError` for a missing variable or an empty archive.
    """
    import numpy as np
    import pandas as pd
    import xarray as xr

    from xgpm import models
    from xgpm.verify.learned import clusters as cl
    from xgpm.verify.learned import scorer as learned

    paths = _paths(archive)
    parts = [_open(p) for p in paths]
    for path, ds in zip(paths, parts, strict=True):
        if reference_var not in ds:
            raise InvalidArgumentError(
                f"--archive: {path} has no reference variable {reference_var!r} (it has "
                f"{sorted(map(str, ds.data_vars))}); pass --reference-var."
            )
        learned.check_imerg(ds, what=path)
    keep = [*learned.REQUIRED_VARIABLES, reference_var]
    ds = xr.concat([p[keep] for p in parts], dim="time").sortby("time").load()
    height, width = (ds.sizes["lat"] // 8) * 8, (ds.sizes["lon"] // 8) * 8
    ds = ds.isel(lat=slice(0, height), lon=slice(0, width))
    reference = ds[reference_var].rename("precipitation")
    reference.attrs.setdefault("units", ds["precipitation"].attrs.get("units", "mm/h"))
    targets = learned.target_table(ds["precipitation"], reference, min_events=min_events)
    y = np.stack([targets[t].values for t in learned.TARGETS], axis=1).astype("float32")
    x = learned.imerg_features(ds[list(learned.REQUIRED_VARIABLES)]).values
    months = pd.DatetimeIndex(ds["time"].values).month
    test = np.asarray(months % holdout_every == 0) if holdout_every > 0 else np.zeros(len(y), bool)
    train = ~test
    if train.sum() < 2:
        raise InvalidArgumentError(
            f"--archive: {int(train.sum())} training map(s) after holding out every "
            f"{holdout_every}th month; give more months or --holdout-every 0."
        )
    grid = {
        "lat_first": float(ds["lat"].values[0]),
        "lon_first": float(ds["lon"].values[0]),
        "height": int(height),
        "width": int(width),
        "step_deg": 0.1,
    }
    verified = ds["precipitation"].notnull() & reference.notnull()
    area = verified.isel(time=np.flatnonzero(train)).mean("time").values
    result = learned.train_scorer(
        x[train],
        y[train],
        validation=(x[test], y[test]) if test.any() else None,
        latent_dim=latent_dim,
        som_shape=som_shape,
        n_dec_clusters=dec_clusters,
        epochs=epochs,
        minutes=minutes,
        batch_size=batch_size,
        learning_rate=learning_rate,
        seed=seed,
        progress=progress,
        grid=grid,
        area=area,
    )
    som, dec = learned.fit_clusters(result.model, x[train], y[train], result.mean, result.std)
    metrics: dict[str, Any] = {"n_train": int(train.sum()), "n_held_out": int(test.sum())}
    if test.any():
        predicted = learned._batched(
            result.model, learned._standardise(x[test], result.mean, result.std)
        )[0]
        z = learned.latent(result.model, x[test], result.mean, result.std)
        for i, target in enumerate(learned.TARGETS):
            ok = np.isfinite(y[test, i])
            if ok.sum() > 2:
                r = float(np.corrcoef(predicted[ok, i], y[test, i][ok])[0, 1])
                metrics[f"{target}_pearson_r"] = round(r, 4)
            metrics[f"{target}_desom_variance_explained"] = round(
                float(cl.variance_explained(y[test, i], som.predict(z))), 4
            )
            metrics[f"{target}_dec_variance_explained"] = round(
                float(cl.variance_explained(y[test, i], dec.predict(z))), 4
            )
    updates = result.card_updates()
    updates["training_data"] = training_data or (
        f"Trained on {len(paths)} archive file(s) ({', '.join(Path(p).name for p in paths[:5])}"
        f"{' ...' if len(paths) > 5 else ''}): {int(train.sum())} IMERG maps and their "
        f"reference '{reference_var}'. State here whether they are simulated or real."
    )
    updates["metrics"] = metrics
    base = name if name in models.list_models() else "scorer"
    return models.save(name, result.model, updates, base=base, directory=directory)


def run(args: argparse.Namespace) -> int:
    """Run ``xgpm train scorer`` (``args`` from a parser given :func:`add_arguments`)."""
    if not getattr(args, "archive", None):
        raise InvalidArgumentError(
            "xgpm train scorer: give the training archive with --archive FILES (IMERG maps "
            "with a 'reference' variable; see xgpm.scoring.cli)."
        )
    path = train_from_archive(
        args.archive,
        name=getattr(args, "name", None) or getattr(args, "model", None) or "scorer",
        directory=getattr(args, "output_dir", None),
        reference_var=args.reference_var,
        epochs=args.epochs,
        minutes=args.minutes,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        latent_dim=args.latent_dim,
        som_shape=_som_shape(args.som_shape),
        dec_clusters=args.dec_clusters,
        holdout_every=args.holdout_every,
        min_events=args.min_events,
        seed=args.seed,
        training_data=getattr(args, "training_data", None),
    )
    print(f"wrote {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m xgpm.scoring.cli``: the same as ``xgpm train scorer``."""
    parser = argparse.ArgumentParser(prog="xgpm train scorer", description=__doc__.split("\n")[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
