"""Realism of the simulator against real GMI statistics over CONUS (SatRain, 2018-2021).

Samples truth-scene snapshots over CONUS at random times of 2018-2021 (GMI sees all local times),
computes the 13 GMI channels at GMI's incidence angles (52.8 deg for 10-89 GHz, 49.19 deg for
166/183 GHz), smooths each channel with a Gaussian of the channel's footprint (an approximation of
the antenna pattern: the full instrument simulation lives in xgpm.simulate.instruments), adds the
channel NEDT, and compares with ``tests/data/satrain_stats/obs_gmi.nc`` (real GMI) and
``surface_precip_stats_gmi_conus.nc`` (MRMS rain per overpass).

Targets: per-channel mean within 5 K, standard deviation within 25 %, histogram overlap (sum of
the minimum of the two normalised histograms on the real file's bins) >= 0.75; rain fraction at
0.1 mm/h within [5, 12] %, mean rain rate where raining within [0.7, 1.6] mm/h.

Run: ``python benchmarks/realism.py [--snapshots 96] [--seed 2024] [--no-docs]``; writes
``docs/images/realism_histograms.png`` and the table in ``docs/simulator.md``.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

import numpy as np
import xarray as xr

ROOT = pathlib.Path(__file__).resolve().parents[1]
STATS = ROOT / "tests" / "data" / "satrain_stats"
DOC = ROOT / "docs" / "simulator.md"
FIGURE = ROOT / "docs" / "images" / "realism_histograms.png"
CONUS = {"lat": (25.5, 48.5), "lon": (-124.0, -68.0)}
PATCH_PX = 96  # per side, at RES_KM
RES_KM = 4.0
START, END = np.datetime64("2018-01-01T00:00"), np.datetime64("2021-12-31T23:00")
WATER_SHARE = 0.05  # share of patches centred on coastal water (sets the ocean fraction)
MARK_BEGIN = "<!-- realism-table-begin -->"
MARK_END = "<!-- realism-table-end -->"


def sample_snapshots(n: int, seed: int):
    """Random (time, lat0, lon0) in CONUS: land centres, and a fixed share of coastal waters.

    SatRain's CONUS scenes are the GMI pixels within MRMS radar coverage, which reaches ~200 km
    offshore: a fixed share of patches centred on coastal water (never open ocean) reproduces
    that mix without the sampling noise of a random share.
    """
    from xgpm.simulate.scenes import is_land

    rng = np.random.default_rng(seed)
    span = (END - START) / np.timedelta64(1, "m")
    ring = np.deg2rad(np.arange(0, 360, 30))
    n_water = int(round(WATER_SHARE * n))
    out = []
    while len(out) < n:
        lat = rng.uniform(*CONUS["lat"])
        lon = rng.uniform(*CONUS["lon"])
        want_water = len(out) < n_water
        if is_land(np.array([lat]), np.array([lon]))[0] == want_water:
            continue
        if want_water and not is_land(lat + 1.5 * np.sin(ring), lon + 1.5 * np.cos(ring)).any():
            continue
        t = START + np.timedelta64(int(rng.uniform(0, span)), "m")
        out.append((t, lat, lon))
    return out


def simulate_patch(t, lat0, lon0, seed, channels):
    from scipy.ndimage import gaussian_filter

    from xgpm.simulate import brightness_temperatures, truth_scene

    half = PATCH_PX * RES_KM / 2
    dlat = RES_KM / 111.2
    dlon = RES_KM / (111.2 * np.cos(np.deg2rad(lat0)))
    lat = lat0 + (np.arange(PATCH_PX) - PATCH_PX / 2) * dlat
    lon = lon0 + (np.arange(PATCH_PX) - PATCH_PX / 2) * dlon
    del half
    scene = truth_scene(lat, lon, np.array([t], "datetime64[ns]"), seed=seed, resolution_km=RES_KM)
    tb = brightness_temperatures(scene, channels).isel(time=0).values  # (channel, y, x)
    rng = np.random.default_rng([seed, int(abs(lat0) * 1e4), int(abs(lon0) * 1e4)])
    margin = 8  # drop edge pixels the smoothing sees half-empty
    out = []
    for i, ch in enumerate(channels):
        along, across = ch.footprint_km
        sigma = (along / 2.355 / RES_KM, across / 2.355 / RES_KM)
        smooth = gaussian_filter(tb[i], sigma, mode="nearest")
        smooth = smooth + rng.normal(0, ch.nedt, smooth.shape)
        out.append(smooth[margin:-margin:2, margin:-margin:2].ravel())
    rain = scene.surface_precip.isel(time=0).values[margin:-margin, margin:-margin]
    return np.array(out), rain


def histogram_overlap(sim: np.ndarray, counts: np.ndarray, bounds: np.ndarray) -> float:
    h_sim, _ = np.histogram(np.clip(sim, bounds[0], bounds[-1]), bins=bounds)
    p = h_sim / max(h_sim.sum(), 1)
    q = counts / counts.sum()
    return float(np.minimum(p, q).sum())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshots", type=int, default=96)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument(
        "--no-docs", action="store_true", help="do not write the PNG and the doc table"
    )
    args = parser.parse_args(argv)

    from tqdm import tqdm

    from xgpm import sensors

    channels = list(sensors.get("GMI").channels)
    obs = xr.open_dataset(STATS / "obs_gmi.nc")
    rain_ref = xr.open_dataset(STATS / "surface_precip_stats_gmi_conus.nc")

    t0 = time.perf_counter()
    tbs, fractions, cond_means, all_rain = [], [], [], []
    for t, lat0, lon0 in tqdm(sample_snapshots(args.snapshots, args.seed), desc="snapshots"):
        tb, rain = simulate_patch(t, lat0, lon0, args.seed, channels)
        tbs.append(tb)
        fractions.append(np.mean(rain >= 0.1))
        if np.any(rain >= 0.1):
            cond_means.append(float(rain[rain >= 0.1].mean()))
        all_rain.append(rain.ravel())
    elapsed = time.perf_counter() - t0
    tb = np.concatenate(tbs, axis=1)
    rain_all = np.concatenate(all_rain)

    rows = []
    for i, ch in enumerate(channels):
        bounds = obs.bin_boundaries.values[i]
        counts = obs.counts.values[i]
        ref_mean = float(obs["mean"].values[i])
        ref_std = float(obs.std_dev.values[i])
        mean, std = float(tb[i].mean()), float(tb[i].std())
        overlap = histogram_overlap(tb[i], counts, bounds)
        ok = abs(mean - ref_mean) <= 5 and abs(std / ref_std - 1) <= 0.25 and overlap >= 0.75
        rows.append((ch.label, ref_mean, mean, ref_std, std, overlap, ok))

    # Rain statistics: pooled over the sample (fraction of pixels >= 0.1 mm/h, mean where >= 0.1)
    # and the mean over overpasses, as SatRain reports them.
    ref_fraction = float(rain_ref.n_raining_pixels.sum() / rain_ref.n_pixels.sum())
    ref_cond = float(np.nanmean(rain_ref.raining_mean.values))
    sim_fraction = float(np.mean(rain_all >= 0.1))
    sim_cond = float(np.mean(cond_means)) if cond_means else float("nan")
    rain_rows = [
        (
            "rain fraction >= 0.1 mm/h (%)",
            100 * ref_fraction,
            100 * sim_fraction,
            "[5, 12]",
            5 <= 100 * sim_fraction <= 12,
        ),
        (
            "mean rate where raining (mm/h)",
            ref_cond,
            sim_cond,
            "[0.7, 1.6]",
            0.7 <= sim_cond <= 1.6,
        ),
    ]

    lines = [
        "| channel | GMI mean (K) | sim mean (K) | GMI std (K) | sim std (K) | hist. overlap "
        "| pass |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for label, rm, m, rs, s, ov, ok in rows:
        lines.append(
            f"| {label} | {rm:.1f} | {m:.1f} | {rs:.1f} | {s:.1f} | {ov:.2f} | "
            f"{'pass' if ok else 'FAIL'} |"
        )
    lines += [
        "",
        "| rain statistic | SatRain CONUS | simulated | target | pass |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, ref, sim, target, ok in rain_rows:
        lines.append(f"| {name} | {ref:.2f} | {sim:.2f} | {target} | {'pass' if ok else 'FAIL'} |")
    n_pass = sum(r[-1] for r in rows) + sum(r[-1] for r in rain_rows)
    n_total = len(rows) + len(rain_rows)
    summary = (
        f"{n_pass}/{n_total} rows pass; {args.snapshots} snapshots of "
        f"{PATCH_PX * RES_KM:.0f} km at {RES_KM:g} km, seed {args.seed}, "
        f"{tb.shape[1]} TB samples per channel, {elapsed:.0f} s."
    )
    table = "\n".join(lines)
    print(table)
    print(summary)

    if not args.no_docs:
        write_figure(tb, channels, obs)
        write_doc(table, summary, args)
    return 0


def write_figure(tb, channels, obs) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(4, 4, figsize=(14, 12))
    for i, ch in enumerate(channels):
        ax = axes.flat[i]
        bounds = obs.bin_boundaries.values[i]
        counts = obs.counts.values[i]
        centres = 0.5 * (bounds[1:] + bounds[:-1])
        widths = np.diff(bounds)
        h_sim, _ = np.histogram(np.clip(tb[i], bounds[0], bounds[-1]), bins=bounds)
        ax.step(centres, counts / counts.sum() / widths, where="mid", label="GMI (SatRain)")
        ax.step(centres, h_sim / max(h_sim.sum(), 1) / widths, where="mid", label="simulated")
        ax.set_yscale("log")
        ax.set_title(ch.label)
        ax.set_xlabel("TB (K)")
    for ax in axes.flat[len(channels) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=8)
    fig.suptitle("Simulated vs real GMI brightness temperatures over CONUS (density, log scale)")
    fig.tight_layout()
    FIGURE.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(FIGURE, dpi=80)
    plt.close(fig)


def write_doc(table: str, summary: str, args) -> None:
    block = (
        f"{MARK_BEGIN}\n\nCommand: `python benchmarks/realism.py --snapshots {args.snapshots} "
        f"--seed {args.seed}`\n\n{table}\n\n{summary}\n\n{MARK_END}"
    )
    if DOC.exists():
        text = DOC.read_text()
        if MARK_BEGIN in text and MARK_END in text:
            head, rest = text.split(MARK_BEGIN, 1)
            _, tail = rest.split(MARK_END, 1)
            DOC.write_text(head + block + tail)
            return
        DOC.write_text(text.rstrip() + "\n\n" + block + "\n")
    else:
        DOC.write_text("# Simulator physics\n\n" + block + "\n")


if __name__ == "__main__":
    sys.exit(main())
