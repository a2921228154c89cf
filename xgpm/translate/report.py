"""Tables and figures of the to_gmi evaluation (docs/models/to_gmi.md, docs/images/to_gmi_*.png)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xgpm.translate.evaluate import GMI, STRATA

__all__ = [
    "GOALS",
    "goal_lines",
    "markdown_report",
    "plot_scene",
    "plot_zone_bars",
    "summary_lines",
]

#: Goals of the issue: method -> minimum fraction of the MSE gap closed (and beat QM).
GOALS: dict[str, float] = {"cyclegan_r": 0.5, "redgan": 0.7}

_METRICS = (
    ("mse", "MSE (mm/h)²", 4),
    ("csi", "CSI 1 mm/h", 3),
    ("correlation", "corr.", 3),
    ("gap_mse", "gap closed MSE", 2),
    ("gap_csi", "gap closed CSI", 2),
    ("gap_correlation", "gap closed corr.", 2),
    ("clear_false_alarms", "clear-sky false alarms", 4),
    ("w1_mean", "W1 mean (K)", 2),
    ("w1_drain", "W1 37/89 GHz (K)", 2),
    ("overlap_mean", "hist. overlap", 3),
    ("n_rain", "rain pixels", 0),
)


def _fmt(value: Any, digits: int) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    if digits == 0:
        return f"{int(value)}"
    return f"{value:.{digits}f}"


def _table(rows: pd.DataFrame, first: str) -> list[str]:
    head = [first, "method", *[label for _, label, _ in _METRICS]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, row in rows.iterrows():
        cells = [str(row["stratum"]), str(row["label"])]
        cells += [_fmt(row.get(metric), digits) for metric, _, digits in _METRICS]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def goal_lines(table: pd.DataFrame, method_of: Mapping[str, str]) -> list[str]:
    """One line per goal: met / missed, by how much (overall rows)."""
    overall = table[table["stratification"] == "all"].set_index("method")
    by_method = {m: name for name, m in method_of.items()}
    qm = by_method.get("quantile_mapping")
    qm_gap = overall.loc[qm, "gap_mse"] if qm in overall.index else np.nan
    lines = []
    for method, goal in GOALS.items():
        name = by_method.get(method)
        if name is None or name not in overall.index:
            lines.append(
                f"- `{method}`: no registered model with weights for this sensor: not evaluated."
            )
            continue
        gap = overall.loc[name, "gap_mse"]
        met = np.isfinite(gap) and gap >= goal
        beats = np.isfinite(gap) and np.isfinite(qm_gap) and gap > qm_gap
        lines.append(
            f"- `{method}` closes {gap:.0%} of the MSE gap (goal >= {goal:.0%}): "
            f"**{'met' if met else 'missed'}** ({gap - goal:+.0%}); quantile mapping closes "
            f"{qm_gap:.0%}: {'beaten' if beats else 'not beaten'}."
        )
    # the further family is reported either way; its bar is Red-GAN
    red, further = by_method.get("redgan"), by_method.get("dann")
    if further is not None and further in overall.index and red in overall.index:
        gaps = {k: overall.loc[further, f"gap_{k}"] for k in ("mse", "csi", "correlation")}
        wins = [k for k, v in gaps.items() if v > overall.loc[red, f"gap_{k}"]]
        lines.append(
            f"- `dann` (further family, reported either way) closes {gaps['mse']:.0%} of the MSE "
            f"gap against `redgan`'s {overall.loc[red, 'gap_mse']:.0%}; it beats `redgan` on "
            f"{', '.join(wins) if wins else 'no gap-closed score'} (MSE, CSI, correlation)."
        )
    return lines


def summary_lines(table: pd.DataFrame, method_of: Mapping[str, str]) -> list[str]:
    """One line per method: distribution fidelity and rain skill against no adaptation."""
    overall = table[table["stratification"] == "all"].set_index("method")
    unadapted = [m for m, method in method_of.items() if method == "identity"]
    if not unadapted or unadapted[0] not in overall.index:
        return []
    base = overall.loc[unadapted[0]]
    gmi = overall.loc[GMI]
    lines = [
        f"- no adaptation (`{unadapted[0]}`): W1 {base['w1_mean']:.2f} K (13-channel mean), "
        f"{base['w1_drain']:.2f} K on DRAIN's 37/89 GHz; DRAIN MSE {base['mse']:.3f} vs "
        f"{gmi['mse']:.3f} on the true GMI, CSI {base['csi']:.2f} vs {gmi['csi']:.2f}; "
        f"clear-sky false alarms {base['clear_false_alarms']:.4f} vs "
        f"{gmi['clear_false_alarms']:.4f} "
        f"({base['clear_false_alarms'] / gmi['clear_false_alarms']:.2f} x, goal <= 1.2)."
    ]
    for name, method in method_of.items():
        if name in unadapted or name not in overall.index:
            continue
        row = overall.loc[name]
        ratio = row["clear_false_alarms"] / overall.loc[GMI, "clear_false_alarms"]
        lines.append(
            f"- `{method}` (`{name}`): W1 {row['w1_mean']:.2f} K, {row['w1_drain']:.2f} K on "
            f"37/89 GHz; gap closed: MSE {row['gap_mse']:+.0%}, CSI {row['gap_csi']:+.0%}, "
            f"correlation {row['gap_correlation']:+.0%} (negative: worse than no adaptation); "
            f"clear-sky false alarms {ratio:.2f} x DRAIN's on the true GMI (goal <= 1.2)."
        )
    return lines


def markdown_report(
    table: pd.DataFrame,
    method_of: Mapping[str, str],
    *,
    header: str,
    images: Sequence[str] = (),
) -> str:
    """The full markdown page: header, goals, the overall and stratified tables, figures."""
    table = table.copy()
    table["label"] = [
        "DRAIN on true GMI" if m == GMI else f"{method_of.get(m, m)} (`{m}`)"
        for m in table["method"]
    ]
    out = [header.rstrip(), "", "## Summary", "", *summary_lines(table, method_of), ""]
    out += ["## Goals", "", *goal_lines(table, method_of), ""]
    out += ["## Overall", ""]
    out += _table(table[table["stratification"] == "all"], "stratum")
    out += ["", "### Per channel (all scenes)", ""]
    overall = table[(table["stratification"] == "all") & (table["method"] != GMI)]
    channel_columns = sorted(
        {c[3:] for c in table.columns if c.startswith("w1_") and c not in ("w1_mean", "w1_drain")},
        key=lambda c: list(table.columns).index(f"w1_{c}"),
    )
    head = ["method", *[f"W1 {c}" for c in channel_columns], *[f"ovl {c}" for c in channel_columns]]
    out += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, row in overall.iterrows():
        cells = [row["label"]] + [_fmt(row.get(f"w1_{c}"), 2) for c in channel_columns]
        cells += [_fmt(row.get(f"overlap_{c}"), 3) for c in channel_columns]
        out.append("| " + " | ".join(cells) + " |")
    for name in STRATA:
        rows = table[table["stratification"] == name]
        if rows.empty:
            continue
        out += ["", f"## By {name.replace('_', ' ')}", ""]
        out += _table(rows, name.replace("_", " "))
    if images:
        out += ["", "## Figures", ""]
        out += [f"![{Path(p).stem}](../images/{Path(p).name})" for p in images]
    return "\n".join(out) + "\n"


def plot_zone_bars(table: pd.DataFrame, method_of: Mapping[str, str], path: Path) -> Path:
    """Bars of the fraction of the MSE gap closed per Koppen-Geiger class and method."""
    import matplotlib.pyplot as plt

    unadapted = [m for m, method in method_of.items() if method == "identity"]
    rows = table[(table["stratification"] == "koppen_class") & (table["method"] != GMI)]
    rows = rows[~rows["method"].isin(unadapted)]  # 0 by definition
    strata = [s for s in STRATA["koppen_class"][1] if s in set(rows["stratum"])]
    methods = [m for m in dict.fromkeys(rows["method"])]
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.8 / max(len(methods), 1)
    for i, method in enumerate(methods):
        values = [
            rows[(rows["method"] == method) & (rows["stratum"] == s)]["gap_mse"].mean()
            for s in strata
        ]
        ax.bar(
            np.arange(len(strata)) + i * width, values, width, label=method_of.get(method, method)
        )
    ax.axhline(1.0, color="k", lw=0.8, ls="--")
    ax.axhline(0.0, color="k", lw=0.8)
    ax.set_xticks(np.arange(len(strata)) + 0.4 - width / 2, strata)
    ax.set_ylabel("fraction of the MSE gap closed")
    ax.set_xlabel("Koppen-Geiger main class of the pixel")
    ax.set_title("DRAIN on pseudo-GMI: gap closed between no adaptation (0) and true GMI (1)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_scene(result: Any, scene: Any, method_of: Mapping[str, str], path: Path) -> Path:
    """Maps of one scene: source 91V, pseudo-GMI 89V per method, GMI 89V; rain from each."""
    import matplotlib.pyplot as plt

    maps = result.maps
    methods = list(maps["pseudo"])
    ncols = len(methods) + 2
    fig, axes = plt.subplots(2, ncols, figsize=(3.2 * ncols, 6.4), sharex=True, sharey=True)
    gmi = scene.gmi
    tb_kw = {"vmin": 180, "vmax": 290, "cmap": "viridis_r", "shading": "auto"}
    rain_kw = {"vmin": 0, "vmax": 10, "cmap": "turbo", "shading": "auto"}

    def panel(ax: Any, ds: Any, values: Any, title: str, kw: dict) -> Any:
        with warnings.catch_warnings():  # swath lon/lat are not monotonic: centres are fine
            warnings.simplefilter("ignore", UserWarning)
            image = ax.pcolormesh(ds["lon"].values, ds["lat"].values, np.asarray(values), **kw)
        ax.set_title(title, fontsize=8)
        return image

    src = scene.source
    panel(
        axes[0, 0],
        src,
        src["Tc"].sel(pmw_frequency="91V").values,
        f"{scene.source_sensor} 91V",
        tb_kw,
    )
    for j, method in enumerate(methods, start=1):
        pseudo = maps["pseudo"][method]
        panel(
            axes[0, j],
            pseudo,
            pseudo["Tc"].sel(pmw_frequency="89V").values,
            f"pseudo-GMI 89V: {method_of.get(method, method)}",
            tb_kw,
        )
        panel(
            axes[1, j],
            pseudo,
            maps["rain"][method].values,
            f"DRAIN on {method_of.get(method, method)}",
            rain_kw,
        )
    image = panel(
        axes[0, -1],
        gmi,
        gmi["Tc"].sel(pmw_frequency="89V").values,
        "virtual GMI 89V (truth)",
        tb_kw,
    )
    fig.colorbar(image, ax=axes[0, :], shrink=0.8, label="K")
    reference = maps["reference"]
    panel(
        axes[1, 0], gmi, reference["surface_precip"].values, "reference: DPR on GMI pixels", rain_kw
    )
    rain_image = panel(axes[1, -1], gmi, maps["gmi_rain"], "DRAIN on true GMI", rain_kw)
    fig.colorbar(rain_image, ax=axes[1, :], shrink=0.8, label="mm/h")
    lon, lat = gmi["lon"].values, gmi["lat"].values
    valid = np.isfinite(gmi["Tc"].sel(pmw_frequency="89V").values)
    for ax in axes.ravel():
        ax.set_xlim(np.nanmin(lon[valid]) - 1, np.nanmax(lon[valid]) + 1)
        ax.set_ylim(np.nanmin(lat[valid]) - 0.5, np.nanmax(lat[valid]) + 0.5)
    fig.suptitle(f"{scene.key} (simulated)", fontsize=10)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
