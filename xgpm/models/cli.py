"""``xgpm train MODEL --matchups ZARR``: train a registered retrieval model on colocated scenes.

The matchups store (Zarr, or NetCDF) holds GMI brightness temperatures and the reference rain
on the same pixels, as scenes:

- ``Tc`` (``scene``, row dim, column dim, ``pmw_frequency``), K, channel labels as coordinate;
- ``surface_precip`` (``scene``, row dim, column dim), mm/h, NaN where the radar did not see.

The row and column dims are the model card's ``inputs.dims`` (``cross_track``,
``along_track``). Torch models (DRAIN) train with :func:`xgpm.models.unet.train_drain`; NumPy
models (BRAIN) store every valid pixel as their database. The weights and the updated card
(normalisation, training data statement, version) are written with :func:`xgpm.models.save`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from xgpm._argtypes import positive_float, positive_int, require_path
from xgpm._deprecated import moved_names
from xgpm.errors import InvalidArgumentError

__all__ = ["add_retrieval_arguments", "retrieval_models", "run_retrieval", "train_from_matchups"]

# `xgpm train` (the dispatcher over every trainer) moved up to xgpm.pipelines.cli: it reaches the
# trainers of the capabilities above models (scorer, to-gmi, the pipelines).
__getattr__ = moved_names(
    __name__, {"add_parser": "xgpm.pipelines.cli", "run": "xgpm.pipelines.cli"}
)


def retrieval_models() -> list[str]:
    """Registered retrieval models (cards without a ``task`` or with ``task: retrieval``)."""
    from xgpm import models

    names = []
    for name in models.list_models():
        task = models.card(name).raw.get("task", "retrieval")
        if task == "retrieval":
            names.append(name)
    return names


def add_retrieval_arguments(
    parser: argparse.ArgumentParser, *, matchups_required: bool = True
) -> None:
    """The options of ``xgpm train <retrieval model>``.

    ``--matchups`` is optional where another option can replace it (:func:`run_retrieval` then
    refuses a run without it).
    """
    parser.add_argument(
        "--matchups", required=matchups_required, help="Zarr (or NetCDF) matchup scenes"
    )
    parser.add_argument("--name", help="save under this name (default: MODEL)")
    parser.add_argument("--output-dir", help="registry directory to write (default: the package's)")
    parser.add_argument("--epochs", type=positive_int, default=20)
    parser.add_argument("--batch-size", type=positive_int, default=16)
    parser.add_argument("--learning-rate", type=positive_float, default=1e-3)
    parser.add_argument("--device", help="torch device (default: cuda if available)")
    parser.add_argument(
        "--minutes",
        type=positive_float,
        default=None,
        help="wall-clock training budget (torch models)",
    )
    parser.add_argument(
        "--augment", action="store_true", help="random flips of the scenes (torch models)"
    )
    parser.add_argument("--tb-var", default="Tc")
    parser.add_argument("--rain-var", default="surface_precip")
    parser.add_argument(
        "--training-data",
        default=None,
        help="sentence for the card's training_data (default: says simulated matchups)",
    )


def run_retrieval(args: argparse.Namespace) -> int:
    """Run ``xgpm train <retrieval model>`` (:func:`train_from_matchups`)."""
    if getattr(args, "matchups", None) is None:
        raise InvalidArgumentError(
            f"xgpm train {args.model}: give the matchup store with --matchups ZARR (or "
            "--simulate WORK for the benchmark pipeline on simulated data)"
        )
    require_path(
        args.matchups,
        "--matchups",
        "no such Zarr store or NetCDF file; build one with "
        "`xgpm matchups --input DIR --out STORE.zarr`",
    )
    path = train_from_matchups(
        args.model,
        args.matchups,
        name=args.name,
        directory=args.output_dir,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        device=args.device,
        max_minutes=args.minutes,
        augment=args.augment,
        tb_var=args.tb_var,
        rain_var=args.rain_var,
        training_data=args.training_data,
    )
    print(f"wrote {path}")
    return 0


def _open(path: str):
    """The matchup store: NetCDF by suffix, else Zarr (InvalidArgumentError if unreadable)."""
    import xarray as xr

    netcdf = Path(path).suffix in (".nc", ".nc4", ".h5")
    try:
        return xr.open_dataset(path) if netcdf else xr.open_zarr(path)
    except Exception as error:  # zarr, netCDF and OS errors of many kinds
        from xgpm.errors import XGPMError

        if isinstance(error, XGPMError):
            raise
        kind = "NetCDF file" if netcdf else "Zarr store"
        raise InvalidArgumentError(
            f"--matchups {path} cannot be opened as a {kind} "
            f"({type(error).__name__}: {' '.join(str(error).split())[:300]}); build one with "
            "`xgpm matchups --input DIR --out STORE.zarr`"
        ) from error


def train_from_matchups(
    model: str,
    matchups: str,
    *,
    name: str | None = None,
    directory: str | None = None,
    epochs: int = 20,
    batch_size: int = 16,
    learning_rate: float = 1e-3,
    device: str | None = None,
    max_minutes: float | None = None,
    augment: bool = False,
    tb_var: str = "Tc",
    rain_var: str = "surface_precip",
    training_data: str | None = None,
    progress: bool = True,
) -> Path:
    """Train ``model`` on a matchup store and save it; returns the card path written.

    See the module docstring for the store layout. ``max_minutes`` and ``augment`` are passed
    to :func:`xgpm.models.unet.train_drain` (torch models only; cosine learning-rate decay).
    """
    import numpy as np

    from xgpm import models

    spec = models.card(model)
    ds = _open(matchups)
    for var in (tb_var, rain_var):
        if var not in ds:
            raise InvalidArgumentError(
                f"xgpm train: {matchups} has no {var!r} variable (it has "
                f"{sorted(map(str, ds.data_vars))}); pass --tb-var/--rain-var"
            )
    labels = [str(v) for v in ds[tb_var]["pmw_frequency"].values]
    missing = [c for c in spec.input_channels if c not in labels]
    if missing:
        from xgpm.errors import MissingChannelsError

        raise MissingChannelsError(
            f"xgpm train: model {spec.name!r} needs channels {list(spec.input_channels)}; "
            f"{matchups} lacks {missing}"
        )
    rows, cols = spec.image_dims
    sample_dims = [d for d in ds[rain_var].dims if d not in (rows, cols)]
    tb = ds[tb_var].sel(pmw_frequency=list(spec.input_channels))
    tb = tb.stack(_sample=sample_dims).transpose("_sample", "pmw_frequency", rows, cols)
    rain = ds[rain_var].stack(_sample=sample_dims).transpose("_sample", rows, cols)
    tb_values = np.asarray(tb.values, dtype=np.float32)
    rain_values = np.asarray(rain.values, dtype=np.float32)
    statement = training_data or (
        f"Trained on simulated data: the matchups in {Path(matchups).name} "
        f"({tb_values.shape[0]} scenes of simulated GMI brightness temperatures and simulated "
        "DPR near-surface rain), not on real observations."
    )
    updates: dict[str, Any] = {"training_data": statement}
    if spec.framework == "torch":
        from xgpm.models.unet import train_drain

        result = train_drain(
            (tb_values, rain_values),
            model_kwargs=spec.architecture_kwargs,
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            device=device,
            progress=progress,
            max_minutes=max_minutes,
            augment=augment,
        )
        updates.update(result.card_updates())
        updates["history"] = [{k: float(v) for k, v in h.items()} for h in result.history]
        trained = result.model
    else:
        pixels = np.moveaxis(tb_values, 1, -1).reshape(-1, tb_values.shape[1])
        trained = models.build(spec).fit(pixels, rain_values.reshape(-1))
    return models.save(name or spec.name, trained, updates, base=spec.name, directory=directory)
