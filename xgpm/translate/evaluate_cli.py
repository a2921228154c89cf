"""``xgpm evaluate to-gmi``: run the to_gmi evaluation end to end (one command).

Simulates (or reads from ``--cache``) the paired scenes of the held-out
:data:`~xgpm.translate.scenes.EVALUATION_WINDOWS`, evaluates every registered translation model
with weights for the source sensor (:mod:`xgpm.translate.evaluate`), and writes the table
(``docs/models/to_gmi.md``), the figures (``docs/images/to_gmi_*.png``) and a CSV of all scores.
This module imports nothing heavy at import time (``xgpm --help`` stays fast).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "main", "run", "run_evaluation"]

DEFAULT_CACHE = "/tmp/xgpm-to-gmi/cache"


def _commit() -> str:
    """``git rev-parse --short HEAD`` of the working tree, with ``+dirty`` if it has changes."""
    import subprocess

    root = Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def _header(
    source: str,
    windows: Sequence[Any],
    n_scenes: int,
    retrieval: str,
    command: str,
    commit: str | None = None,
) -> str:
    from xgpm.models.inference import ENGINE_VERSION
    from xgpm.translate.evaluate import EDGE_KM
    from xgpm.translate.scenes import simulator_version

    described = "; ".join(str(w) for w in windows)
    edge = EDGE_KM
    made_by = (
        f"commit `{commit or _commit()}` (`+dirty`: uncommitted changes in the tree), simulator "
        f"version `{simulator_version()}` (`xgpm.simulate.SIMULATOR_VERSION`), inference engine "
        f"version `{ENGINE_VERSION}`"
    )
    return f"""# to_gmi models: evaluation

**What is evaluated.** Every registered {source.upper()} translation
(`swath.gpm.to_gmi(model=...)`): the floor `identity` (nearest channel, no adaptation), the
pixel-wise baseline `quantile_mapping`, and the learned generators (their model card page:
[CycleGAN_R, Red-GAN and DANN](cyclegan.md)). Each turns a 1C swath into pseudo-GMI (13 GMI
channels, K); DRAIN then retrieves rain from it. The question asked: how much of DRAIN's skill
lost between the true GMI and the source does each translation win back, on held-out simulated
scenes no model was fitted on? The answer is under "Summary" and "Goals" below; this whole page
is written by its command (last line of this section): do not edit its numbers by hand.

**Everything here is simulated.** The scenes come from xgpm's simulator: the source radiometer
({source.upper()}), a *virtual GMI* and a *virtual DPR* flying on the source's orbit observe one
truth at the same time (`xgpm.translate.scenes.paired_scenes`). The translation models were
trained on simulated scenes too. The numbers say how well each method undoes the *simulated*
differences between the instruments (footprints, frequencies, incidence, noise), not how it
does on real {source.upper()} data.

- Held-out windows (days no translation model and no DRAIN weights were fitted on): {described}.
- Scenes: {n_scenes} overpasses. Rain model: `{retrieval}` (trained on simulated GMI/DPR).
- Reference: virtual-DPR near-surface rain convolved to GMI's 89 GHz footprint on the
  virtual-GMI pixels (`xgpm.matchups.gmi_dpr_matchups`), over the pixels the DPR saw.
- Pseudo-GMI (translated on the source swath densified to GMI's spacing, cropped to 150 km
  around the virtual-GMI swath) and its DRAIN rain are put on the virtual-GMI pixels with
  `xgpm.colocate` (nearest, 10 km). Pixels within {edge:g} km of an edge of either swath are not
  scored: DRAIN sees rain along every swath edge (its missing inputs are mean-filled), in the
  true GMI too.
- Rain scores: MSE, CSI at 1 mm/h, Pearson correlation (`xgpm.evaluate.evaluate_retrieval`).
  *Gap closed* = (score_method - score_identity) / (score_GMI - score_identity): 0 is no
  adaptation, 1 is as good as DRAIN on the true GMI of the same scene. Clear-sky false
  alarms: share of reference pixels < 0.1 mm/h where DRAIN gives > 0.1 mm/h.
- Distribution scores: Wasserstein-1 distance (K) and histogram overlap (0.5 K bins) of the
  pseudo-GMI vs true-GMI brightness temperatures on the same pixels, per channel; "W1 mean" is
  the mean over the 13 channels, "W1 37/89 GHz" over DRAIN's four input channels.
- Strata: Koppen-Geiger main class, season, surface of the pixel; rain regime and precipitation
  type of the reference.

Produced by `{command}`.

Made at {made_by}. The scene and result caches are keyed by the simulator's version: a run
after a change of the simulated values simulates the held-out scenes again.
"""


def run_evaluation(
    *,
    source: str = "ssmis-f17",
    cache: str | Path = DEFAULT_CACHE,
    days: float = 1.0,
    windows: Sequence[Any] | None = None,
    retrieval: str = "drain",
    max_scenes: int | None = None,
    markdown: str | Path | None = "docs/models/to_gmi.md",
    images: str | Path | None = "docs/images",
    csv: str | Path | None = None,
    methods: Sequence[str] | None = None,
    progress: bool = True,
    command: str = "python benchmarks/evaluate_to_gmi.py",
) -> Any:
    """Evaluate every translation model for ``source`` on the held-out paired scenes.

    Returns
    -------
    pandas.DataFrame
        :func:`xgpm.translate.evaluate.summarise`'s table.
    """
    from xgpm import models
    from xgpm.errors import InvalidArgumentError
    from xgpm.translate.core import to_gmi_models
    from xgpm.translate.evaluate import evaluate_scene, results_json, summarise
    from xgpm.translate.report import goal_lines, markdown_report, plot_scene, plot_zone_bars
    from xgpm.translate.scenes import EVALUATION_WINDOWS, Window, cached_paired_scenes

    available = set(models.list(with_weights=True))
    specs = [s for s in to_gmi_models(source) if s.name in available]
    if methods:
        specs = [s for s in specs if s.name in methods or str(s.raw.get("method")) in methods]
    method_of = {s.name: str(s.raw.get("method", s.name)) for s in specs}
    unadapted = [s.name for s in specs if method_of[s.name] == "identity"]
    if not unadapted:
        raise InvalidArgumentError(
            f"evaluate to-gmi: no identity model for {source}: the gap closed needs one"
        )
    names = [s.name for s in specs]
    windows = [Window(w.region, w.start, days) for w in (windows or EVALUATION_WINDOWS)]
    cache = Path(cache)
    commit = _commit()  # the code that runs: read before the (minutes-long) evaluation
    started = time.perf_counter()
    results, figure_scene = [], None
    scenes = cached_paired_scenes(windows, cache / "scenes", source=source, progress=False)
    if progress:
        from tqdm.auto import tqdm

        scenes = tqdm(scenes, desc="to_gmi evaluation", unit="scene")
    for scene in scenes:
        if max_scenes is not None and len(results) >= max_scenes:
            break
        if scene.dpr is None:
            continue
        rainy = float((scene.dpr["precipRateNearSurface"] > 1.0).mean())
        keep = figure_scene is None and rainy > 0.05 and images is not None
        result = evaluate_scene(
            scene, names, retrieval=retrieval, cache=cache / "results", keep_maps=keep
        )
        if keep:
            figure_scene = (result, scene)
        else:
            result.maps = {}
        results.append(result)
    if not results:
        raise InvalidArgumentError("evaluate to-gmi: no paired scene with a DPR in the windows")
    table = summarise(results, names, unadapted[0])
    elapsed = time.perf_counter() - started
    print(results_json(table))
    for line in goal_lines(table, method_of):
        print(line)
    print(f"{len(results)} scenes, {len(names)} methods, {elapsed:.0f} s")
    written = []
    if images is not None:
        folder = Path(images)
        folder.mkdir(parents=True, exist_ok=True)
        written.append(plot_zone_bars(table, method_of, folder / "to_gmi_zone_gap.png"))
        if figure_scene is not None:
            written.append(plot_scene(*figure_scene, method_of, folder / "to_gmi_scene.png"))
    if csv is not None:
        Path(csv).parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(csv, index=False)
    if markdown is not None:
        header = _header(source, windows, len(results), retrieval, command, commit)
        Path(markdown).parent.mkdir(parents=True, exist_ok=True)
        Path(markdown).write_text(
            markdown_report(table, method_of, header=header, images=[str(p) for p in written])
        )
        print("wrote", markdown)
    return table


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``xgpm evaluate`` with its ``to-gmi`` sub-command."""
    parser = subparsers.add_parser("evaluate", help="evaluate models on simulated scenes")
    tasks = parser.add_subparsers(dest="evaluate_task", metavar="TASK", required=True)
    sub = tasks.add_parser("to-gmi", help="evaluate translations to pseudo-GMI (to_gmi)")
    add_arguments(sub)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``xgpm evaluate to-gmi`` (shared with benchmarks/evaluate_to_gmi.py)."""
    from xgpm._argtypes import positive_float, positive_int

    parser.add_argument("--source", default="ssmis-f17", help="source sensor (registry name)")
    parser.add_argument("--cache", default=DEFAULT_CACHE, help="scene and result cache folder")
    parser.add_argument("--days", type=positive_float, default=1.0, help="days per held-out window")
    parser.add_argument("--retrieval", default="drain", help="rain model run on the outputs")
    parser.add_argument("--max-scenes", type=positive_int, default=None, help="stop after N scenes")
    parser.add_argument("--methods", nargs="*", default=None, help="only these methods/cards")
    parser.add_argument("--markdown", default="docs/models/to_gmi.md", help="table page")
    parser.add_argument("--images", default="docs/images", help="folder of the PNG figures")
    parser.add_argument("--csv", default=None, help="also write every score to this CSV")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace, command: str = "xgpm evaluate to-gmi") -> int:
    """Run ``xgpm evaluate to-gmi``."""
    from xgpm import sensors
    from xgpm.errors import InvalidArgumentError, UnknownSensorError

    try:
        sensors.get(args.source)
    except UnknownSensorError as error:
        raise InvalidArgumentError(f"--source {args.source!r}: {error}") from error
    run_evaluation(
        source=args.source,
        cache=args.cache,
        days=args.days,
        retrieval=args.retrieval,
        max_scenes=args.max_scenes,
        markdown=args.markdown or None,
        images=args.images or None,
        csv=args.csv,
        methods=args.methods,
        progress=not args.no_progress,
        command=command,
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Stand-alone entry point (``python -m xgpm.translate.evaluate_cli``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv), command="python -m xgpm.translate.evaluate_cli")


if __name__ == "__main__":
    raise SystemExit(main())
