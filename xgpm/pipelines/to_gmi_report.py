"""Reports of the to_gmi benchmark (:mod:`xgpm.pipelines.to_gmi`): table, figures, registry cards.

:func:`markdown` (the results and learning-curve tables), :func:`figure_curve` (the learning
curve), :func:`figure_example` (one scene through every generator), :func:`save_models` (the
generators in the model registry, with cards saying how they were made).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["figure_curve", "figure_example", "markdown", "save_models", "training_notes"]


def training_notes(options, source_tiles, gmi_tiles, pairs) -> dict[str, str]:
    """The ``training_data`` text of each model's card (``cyclegan_r``, ``redgan``, ``dann``)."""
    common = (
        "Trained on simulated data only: unpaired SSMIS (F16, F17, F18; densified to GMI "
        f"sampling) and GMI overpasses of 2021 ({len(source_tiles)} + {len(gmi_tiles)} tiles "
        "of 64 x 32 pixels; regions france, tropical-atlantic, tropical-pacific, conus), "
        "xgpm.simulate; not real observations. Physics-structured inverse F (nearest GMI "
        "channel seen through the registry footprints, SSMIS NEDT added; fixed). Stage 1: the "
        f"backward cycle G(F(y)) ~ y alone (L1; {options.minutes_sharpen} min"
        + (f" from {options.sharpened}" if options.sharpened else "")
        + "). Every stage keeps the generator with the lowest validation MSE of DRAIN on its "
        f"pseudo-GMI against the DPR over {len(pairs)} simulated 2021 SSMIS-F17/DPR "
        f"coincidences ({options.paired_dates}), scored every {options.validate_every} steps."
    )
    notes = {
        "cyclegan_r": (
            f" Stage 2 (adversarial, {options.minutes_cyclegan} min)."
            if options.minutes_cyclegan > 0
            else " No adversarial stage: it lowered the rain skill (docs/models/cyclegan.md)."
        ),
        "redgan": (
            " Red-GAN: then the frozen DRAIN as third player on the same cycle, "
            f"{options.redgan_rain_weight} x MSE(DRAIN(G(F(y))), DRAIN(y)) "
            f"({options.minutes_redgan} min, learning rate {options.learning_rate_redgan}); no "
            "scene is paired."
            + (
                f" Then the paired rain term ({options.minutes_redgan_paired} min)."
                if options.minutes_redgan_paired > 0
                else ""
            )
        ),
        "dann": (
            " DANN: then a domain classifier on DRAIN's bottleneck features (real GMI vs "
            f"pseudo-GMI) behind a gradient reversal layer, weight {options.dann_weight} "
            f"({options.minutes_dann} min); no scene is paired."
        ),
    }
    return {key: common + note for key, note in notes.items()}


def save_models(options, results, table, test, pairs, source_tiles, gmi_tiles, command) -> None:
    """Write the generators to the model registry with cards saying how they were made."""
    from xgpm.translate import cyclegan

    notes = training_notes(options, source_tiles, gmi_tiles, pairs)
    for key, result in results.items():
        metrics = {
            "dataset": f"simulated paired 2022 SSMIS-F17 / virtual GMI-DPR scenes "
            f"({len(test)} overpasses; days {options.eval_dates})",
            "reference": "DPR near-surface rain on GMI footprints",
            **{
                k: round(v, 4)
                for k, v in table[key].items()
                if not k.startswith("tb_mae_") or k == "tb_mae_k"
            },
            "tb_mae_k_per_channel": {
                k[7:]: round(v, 2)
                for k, v in table[key].items()
                if k.startswith("tb_mae_") and k != "tb_mae_k"
            },
            "csi_threshold_mm_h": 1.0,
            "selected_step": (result.selection or {}).get("best_step"),
            "command": command,
        }
        path = cyclegan.save_generator(
            f"{key}-ssmis",
            result,
            method=key,
            training_data=notes[key],
            command=command,
            metrics=metrics,
            version="0.3.0",
        )
        print(f"wrote {path}")


def markdown(table: dict, curve: list, meta: dict) -> str:
    """The results table, the learning-curve table and the run line (``table.md``)."""
    lines = [
        "| model | MSE | CSI (1 mm/h) | correlation | bias % | TB MAE (K) | gap closed MSE / "
        "CSI / corr |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, s in table.items():
        gap = (
            f"{s['gap_closed_mse']:.2f} / {s['gap_closed_csi']:.2f} / "
            f"{s['gap_closed_correlation']:.2f}"
            if "gap_closed_mse" in s
            else "-"
        )
        tb = f"{s['tb_mae_k']:.2f}" if "tb_mae_k" in s else "-"
        lines.append(
            f"| {name} | {s['mse']:.3f} | {s['csi']:.3f} | {s['correlation']:.3f} | "
            f"{s['bias_pct']:.1f} | {tb} | {gap} |"
        )
    lines += [
        "",
        "| paired overpasses | DPR pixels | steps | MSE | CSI | correlation |",
        "|---|---|---|---|---|---|",
    ]
    for c in curve:
        lines.append(
            f"| {c['overpasses']} | {c['dpr_pixels']} | {c['steps']} | {c['mse']:.3f} | "
            f"{c['csi']:.3f} | {c['correlation']:.3f} |"
        )
    lines += [
        "",
        f"run: `{meta['command']}` ({meta['minutes']} min; DRAIN "
        f"{meta['drain_version']}; {meta['test_scenes']} test overpasses)",
        "",
    ]
    return "\n".join(lines)


def figure_curve(curve: list, table: dict, path: Path) -> None:
    """CSI, correlation and MSE against the number of paired overpasses fine-tuned on."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    x = [max(c["overpasses"], 0.5) for c in curve]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    for ax, key, label in zip(
        axes,
        ("csi", "correlation", "mse"),
        ("CSI (1 mm/h)", "correlation", "MSE (mm/h)$^2$"),
        strict=True,
    ):
        ax.plot(x, [c[key] for c in curve], "o-", label="Red-GAN + DPR fine-tuning")
        ax.axhline(
            table["DRAIN on paired GMI (ceiling)"][key], color="k", ls="--", label="DRAIN on GMI"
        )
        ax.axhline(table["identity (no adaptation)"][key], color="r", ls=":", label="no adaptation")
        ax.axhline(table["cyclegan_r"][key], color="g", ls="-.", label="CycleGAN_R")
        ax.set_xscale("log")
        ax.set_xlabel("paired overpasses with DPR (0 plotted at 0.5)")
        ax.set_title(label)
    axes[0].legend(fontsize=7)
    fig.suptitle("DRAIN(pseudo-GMI from SSMIS) vs DPR, simulated 2022 scenes")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def figure_example(fields: list, generators: dict, identity: Any, drain: str, path: Path) -> None:
    """The wettest test scene: 89V and DRAIN's rain through each generator, GMI and DPR."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    from xgpm.translate.losses import _Drain
    from xgpm.translate.train import GMI_CHANNELS, translate_field

    field = max(fields, key=lambda f: float(np.nansum(f.dpr)))
    network = _Drain(drain, GMI_CHANNELS, "cpu")
    c89 = GMI_CHANNELS.index("89V")
    rows = {"no adaptation": identity, **generators}
    fig, axes = plt.subplots(2, len(rows) + 1, figsize=(3.2 * (len(rows) + 1), 6))
    valid = np.isfinite(field.source).all(0)
    with torch.no_grad():
        for i, (name, gen) in enumerate(rows.items()):
            pseudo, rain = translate_field(gen, field.source, network)
            tb = pseudo[c89]
            axes[0, i].imshow(np.where(valid, tb, np.nan).T, vmin=200, vmax=290, cmap="viridis")
            axes[0, i].set_title(f"{name}: 89V (K)")
            axes[1, i].imshow(np.where(valid, rain, np.nan).T, vmin=0, vmax=10, cmap="Blues")
            axes[1, i].set_title(f"DRAIN({name})")
    axes[0, -1].imshow(field.gmi[c89].T, vmin=200, vmax=290, cmap="viridis")
    axes[0, -1].set_title("paired GMI: 89V (K)")
    axes[1, -1].imshow(field.dpr.T, vmin=0, vmax=10, cmap="Blues")
    axes[1, -1].set_title("DPR rain (mm/h)")
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"simulated 2022 scene {field.name} (rows: along track)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
