"""Clusters of IMERG maps in the learned scorer's latent space: DESOM and DEC (NumPy only).

Two clusterings of the same latent vectors (one per map, from the encoder of
:mod:`xgpm.scoring.learned`):

- :class:`SelfOrganizingMap` -- the SOM layer of DESOM (Forest et al. 2019, "Deep embedded
  self-organizing map"): a grid of prototypes fitted by minimising the DESOM loss
  ``sum_i sum_k h(d(bmu_i, k), T) ||z_i - m_k||^2`` (Gaussian neighbourhood ``h`` on the map
  grid, temperature ``T`` decreasing), here with batch updates on the latent vectors of the
  trained autoencoder (encoder frozen).
- :class:`DeepEmbeddedClustering` -- DEC (Xie et al. 2016) on the same latent space: k-means
  (k-means++ start), then the centroids refined by gradient descent on ``KL(P || Q)`` with the
  Student-t soft assignment ``q_ij ~ (1 + ||z_i - mu_j||^2 / alpha)^-(alpha+1)/2`` and the
  sharpened target ``p_ij ~ q_ij^2 / f_j`` (encoder frozen: "deep k-means" on a fixed
  embedding).

Clusters are labelled by the score distribution of their training maps (:func:`cluster_stats`,
:func:`cluster_label`); :func:`variance_explained` is the between-cluster share of the total
variance of a score (eta squared). Plots: :func:`plot_som_scores` (the SOM grid coloured by the
median score) and :func:`plot_cluster_examples` (example maps per cluster).

Examples
--------
>>> import numpy as np
>>> from xgpm.scoring.clusters import variance_explained
>>> float(variance_explained(np.array([0.0, 0.0, 1.0, 1.0]), np.array([0, 0, 1, 1])))
1.0
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from xgpm.errors import InvalidArgumentError

__all__ = [
    "DeepEmbeddedClustering",
    "SelfOrganizingMap",
    "cluster_label",
    "cluster_stats",
    "plot_cluster_examples",
    "plot_som_scores",
    "variance_explained",
]

#: Columns of :func:`cluster_stats` rows.
STAT_NAMES = ("n", "median", "q25", "q75")


def _as_latent(z: Any, what: str = "latent") -> np.ndarray:
    z = np.asarray(z, dtype="float64")
    if z.ndim != 2 or z.shape[0] == 0:
        raise InvalidArgumentError(
            f"{what}: expected a 2-D array (maps, latent dims), got shape {z.shape}."
        )
    if not np.all(np.isfinite(z)):
        raise InvalidArgumentError(f"{what}: contains NaN or inf; drop those maps first.")
    return z


def _squared_distances(z: np.ndarray, centres: np.ndarray) -> np.ndarray:
    d = (z**2).sum(1)[:, None] - 2.0 * z @ centres.T + (centres**2).sum(1)[None, :]
    return np.maximum(d, 0.0)


class SelfOrganizingMap:
    """A rectangular self-organising map (the SOM layer of DESOM) on latent vectors.

    Parameters
    ----------
    shape : (int, int)
        Rows and columns of the map grid (``rows * cols`` prototypes).
    epochs : int
        Batch update passes; the neighbourhood temperature decays geometrically from
        ``t_max`` to ``t_min`` over them (DESOM's schedule).
    t_max, t_min : float, optional
        Start / end neighbourhood widths in grid cells (default: half the larger side, 0.1).
    seed : int
        Prototype initialisation (random training vectors).

    Attributes
    ----------
    prototypes : numpy.ndarray
        ``(rows * cols, latent dims)``, node ``k`` at grid position ``divmod(k, cols)``.
    """

    def __init__(
        self,
        shape: tuple[int, int] = (3, 4),
        *,
        epochs: int = 60,
        t_max: float | None = None,
        t_min: float = 0.1,
        seed: int = 0,
    ) -> None:
        rows, cols = (int(s) for s in shape)
        if rows < 1 or cols < 1 or rows * cols < 2:
            raise InvalidArgumentError(f"shape: need at least 2 nodes, got {shape!r}.")
        if epochs < 1:
            raise InvalidArgumentError(f"epochs: must be >= 1, got {epochs!r}.")
        self.shape = (rows, cols)
        self.epochs = int(epochs)
        self.t_max = float(t_max) if t_max is not None else max(rows, cols) / 2.0
        self.t_min = float(t_min)
        self.seed = int(seed)
        self.prototypes: np.ndarray | None = None
        grid = np.array([divmod(k, cols) for k in range(rows * cols)], dtype="float64")
        self._grid_d2 = ((grid[:, None, :] - grid[None, :, :]) ** 2).sum(-1)

    @property
    def n_nodes(self) -> int:
        """Number of prototypes."""
        return self.shape[0] * self.shape[1]

    def _neighbourhood(self, temperature: float) -> np.ndarray:
        return np.exp(-self._grid_d2 / (2.0 * temperature**2))

    def loss(self, z: Any, temperature: float | None = None) -> float:
        """The DESOM SOM loss per map at ``temperature`` (default ``t_min``)."""
        z = _as_latent(z)
        self._require_fitted()
        d2 = _squared_distances(z, self.prototypes)
        h = self._neighbourhood(self.t_min if temperature is None else temperature)
        bmu = d2.argmin(1)
        return float((h[bmu] * d2).sum(1).mean())

    def fit(self, z: Any) -> SelfOrganizingMap:
        """Fit the prototypes: batch SOM updates, each the minimiser of the DESOM loss.

        With the best-matching units fixed, the loss is minimised by the neighbourhood-weighted
        mean of the vectors, so every epoch assigns then updates (like k-means).
        """
        z = _as_latent(z)
        if z.shape[0] < self.n_nodes:
            raise InvalidArgumentError(
                f"SelfOrganizingMap.fit: {z.shape[0]} vectors for {self.n_nodes} nodes; need "
                f"at least as many vectors as nodes."
            )
        rng = np.random.default_rng(self.seed)
        # start on the first two principal axes, so neighbouring nodes start close together
        mean = z.mean(0)
        _, s, vt = np.linalg.svd(z - mean, full_matrices=False)
        rows, cols = self.shape
        scale = s[:2] / np.sqrt(z.shape[0]) if s.size >= 2 else np.ones(2)
        a = np.linspace(-1, 1, rows)[:, None] * np.ones(cols)[None, :]
        b = np.ones(rows)[:, None] * np.linspace(-1, 1, cols)[None, :]
        axes = vt[:2] if vt.shape[0] >= 2 else np.vstack([vt, rng.normal(size=vt.shape)])
        self.prototypes = (
            mean
            + 2 * scale[0] * a.ravel()[:, None] * axes[0]
            + 2 * scale[1] * b.ravel()[:, None] * axes[1]
        )
        temperatures = self.t_max * (self.t_min / self.t_max) ** (
            np.arange(self.epochs) / max(self.epochs - 1, 1)
        )
        for temperature in temperatures:
            bmu = _squared_distances(z, self.prototypes).argmin(1)
            weights = self._neighbourhood(temperature)[bmu]  # (maps, nodes)
            total = weights.sum(0)
            update = weights.T @ z / np.maximum(total, 1e-12)[:, None]
            self.prototypes = np.where(total[:, None] > 1e-12, update, self.prototypes)
        return self

    def _require_fitted(self) -> None:
        if self.prototypes is None:
            raise InvalidArgumentError("SelfOrganizingMap: not fitted; call fit(latent) first.")

    def predict(self, z: Any) -> np.ndarray:
        """Best-matching node of each vector (int array)."""
        self._require_fitted()
        return _squared_distances(_as_latent(z), self.prototypes).argmin(1)


class DeepEmbeddedClustering:
    """DEC clustering (k-means start, then KL(P || Q) refinement of the centroids).

    Parameters
    ----------
    n_clusters : int
    alpha : float
        Degrees of freedom of the Student-t kernel (DEC uses 1).
    iterations : int
        Gradient steps on the centroids after k-means (0: plain k-means).
    learning_rate : float
        Step size, relative to the latent vectors' spread.
    seed : int

    Attributes
    ----------
    centroids : numpy.ndarray
        ``(n_clusters, latent dims)``.
    """

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        alpha: float = 1.0,
        iterations: int = 100,
        learning_rate: float = 0.1,
        seed: int = 0,
    ) -> None:
        if int(n_clusters) < 2:
            raise InvalidArgumentError(f"n_clusters: need at least 2, got {n_clusters!r}.")
        if not alpha > 0:
            raise InvalidArgumentError(f"alpha: must be > 0, got {alpha!r}.")
        self.n_clusters = int(n_clusters)
        self.alpha = float(alpha)
        self.iterations = int(iterations)
        self.learning_rate = float(learning_rate)
        self.seed = int(seed)
        self.centroids: np.ndarray | None = None

    def _kmeans(self, z: np.ndarray, rng: np.random.Generator, n_iter: int = 100) -> np.ndarray:
        # k-means++ seeding
        centres = [z[rng.integers(z.shape[0])]]
        for _ in range(1, self.n_clusters):
            d2 = _squared_distances(z, np.array(centres)).min(1)
            p = d2 / d2.sum() if d2.sum() > 0 else np.full(z.shape[0], 1.0 / z.shape[0])
            centres.append(z[rng.choice(z.shape[0], p=p)])
        centres = np.array(centres)
        for _ in range(n_iter):
            labels = _squared_distances(z, centres).argmin(1)
            new = np.array(
                [
                    z[labels == k].mean(0) if np.any(labels == k) else centres[k]
                    for k in range(self.n_clusters)
                ]
            )
            if np.allclose(new, centres):
                break
            centres = new
        return centres

    def soft_assignment(self, z: Any) -> np.ndarray:
        """DEC's Student-t soft assignment ``q`` (rows sum to 1)."""
        self._require_fitted()
        return self._q(_as_latent(z), self.centroids)

    def _q(self, z: np.ndarray, centroids: np.ndarray) -> np.ndarray:
        d2 = _squared_distances(z, centroids)
        q = (1.0 + d2 / self.alpha) ** (-(self.alpha + 1.0) / 2.0)
        return q / q.sum(1, keepdims=True)

    def fit(self, z: Any) -> DeepEmbeddedClustering:
        """k-means, then ``iterations`` full-batch gradient steps on ``KL(P || Q)``."""
        z = _as_latent(z)
        if z.shape[0] < self.n_clusters:
            raise InvalidArgumentError(
                f"DeepEmbeddedClustering.fit: {z.shape[0]} vectors for {self.n_clusters} clusters."
            )
        rng = np.random.default_rng(self.seed)
        centroids = self._kmeans(z, rng)
        step = self.learning_rate * float(np.mean(z.std(0)) ** 2 + 1e-12)
        for _ in range(self.iterations):
            q = self._q(z, centroids)
            f = q.sum(0)
            p = q**2 / f
            p /= p.sum(1, keepdims=True)
            d2 = _squared_distances(z, centroids)
            kernel = 1.0 / (1.0 + d2 / self.alpha)
            coeff = kernel * (p - q)  # (maps, clusters)
            # dL/dmu_j = -(alpha+1)/alpha sum_i kernel_ij (p_ij - q_ij)(z_i - mu_j)
            pull = coeff.T @ z - coeff.sum(0)[:, None] * centroids
            grad = -(self.alpha + 1.0) / self.alpha * pull
            centroids = centroids - step * grad / z.shape[0] * self.n_clusters
        self.centroids = centroids
        return self

    def _require_fitted(self) -> None:
        if self.centroids is None:
            raise InvalidArgumentError("DeepEmbeddedClustering: not fitted; call fit(latent).")

    def predict(self, z: Any) -> np.ndarray:
        """Most likely cluster of each vector (int array)."""
        return self.soft_assignment(z).argmax(1)


def cluster_stats(labels: Any, scores: Any, n_clusters: int) -> np.ndarray:
    """Per cluster: number of maps with a finite score, median, 25 % and 75 % quantiles.

    Parameters
    ----------
    labels : array of int
        Cluster of each map (``0 .. n_clusters - 1``).
    scores : array of float
        The score of each map; NaN scores (undefined) are left out.
    n_clusters : int

    Returns
    -------
    numpy.ndarray
        ``(n_clusters, 4)``: columns :data:`STAT_NAMES`; NaN statistics for an empty cluster.
    """
    labels = np.asarray(labels)
    scores = np.asarray(scores, dtype="float64")
    if labels.shape != scores.shape:
        raise InvalidArgumentError(
            f"labels and scores: shapes {labels.shape} and {scores.shape} differ."
        )
    out = np.full((int(n_clusters), len(STAT_NAMES)), np.nan)
    for k in range(int(n_clusters)):
        values = scores[(labels == k) & np.isfinite(scores)]
        out[k, 0] = values.size
        if values.size:
            out[k, 1:] = np.quantile(values, [0.5, 0.25, 0.75])
    return out


def cluster_label(median: float, q25: float, q75: float, *, score: str = "CSI") -> str:
    """A short label of a cluster from its score distribution, e.g. ``"high CSI (0.62 ...)"``.

    Skill words: ``high`` (median >= 0.5), ``medium`` (>= 0.3), ``low`` (below), ``unknown``
    (no scored training map).
    """
    if not np.isfinite(median):
        return f"unknown {score} (no scored training map)"
    level = "high" if median >= 0.5 else "medium" if median >= 0.3 else "low"
    return f"{level} {score} (median {median:.2f}, IQR {q25:.2f}-{q75:.2f})"


def variance_explained(scores: Any, labels: Any) -> float:
    """Between-cluster share of the total variance of ``scores`` (eta squared).

    ``sum_k n_k (mean_k - mean)^2 / sum_i (s_i - mean)^2`` over the maps with a finite score,
    with the cluster means of these same maps. NaN when fewer than two such maps or no spread.
    """
    scores = np.asarray(scores, dtype="float64")
    labels = np.asarray(labels)
    if scores.shape != labels.shape:
        raise InvalidArgumentError(
            f"scores and labels: shapes {scores.shape} and {labels.shape} differ."
        )
    ok = np.isfinite(scores)
    s, g = scores[ok], labels[ok]
    if s.size < 2:
        return float("nan")
    total = float(((s - s.mean()) ** 2).sum())
    if total == 0:
        return float("nan")
    between = 0.0
    for k in np.unique(g):
        members = s[g == k]
        between += members.size * (members.mean() - s.mean()) ** 2
    return between / total


# ------------------------------------------------------------------------------------------
# plots
# ------------------------------------------------------------------------------------------


def plot_som_scores(
    som_stats: np.ndarray,
    shape: tuple[int, int],
    *,
    score: str = "CSI @ 1 mm/h",
    title: str | None = None,
    path: str | os.PathLike | None = None,
) -> Any:
    """The SOM grid coloured by each node's median score, annotated with median and count.

    Parameters
    ----------
    som_stats : numpy.ndarray
        ``(rows * cols, 4)`` from :func:`cluster_stats` on the SOM nodes.
    shape : (int, int)
        The SOM grid.
    path : path, optional
        Write a PNG there.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    rows, cols = shape
    stats = np.asarray(som_stats, dtype="float64")
    if stats.shape != (rows * cols, len(STAT_NAMES)):
        raise InvalidArgumentError(
            f"som_stats: expected shape {(rows * cols, len(STAT_NAMES))}, got {stats.shape}."
        )
    median = stats[:, 1].reshape(rows, cols)
    fig, ax = plt.subplots(figsize=(1.3 * cols + 1.5, 1.2 * rows + 0.8))
    image = ax.imshow(median, cmap="viridis", vmin=0, vmax=1)
    for k in range(rows * cols):
        r, c = divmod(k, cols)
        text = "empty" if not stats[k, 0] else f"{stats[k, 1]:.2f}\nn={stats[k, 0]:.0f}"
        colour = "white" if not np.isfinite(stats[k, 1]) or stats[k, 1] < 0.5 else "black"
        ax.text(c, r, text, ha="center", va="center", fontsize=8, color=colour)
    ax.set_xticks(range(cols))
    ax.set_yticks(range(rows))
    ax.set_xlabel("SOM column")
    ax.set_ylabel("SOM row")
    fig.colorbar(image, ax=ax, label=f"median {score}")
    ax.set_title(title or f"DESOM map coloured by median {score}", fontsize=10)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
        plt.close(fig)
    return fig


def plot_cluster_examples(
    maps: np.ndarray,
    labels: np.ndarray,
    cluster_titles: Sequence[str],
    *,
    per_cluster: int = 4,
    scores: np.ndarray | None = None,
    vmax: float = 5.0,
    seed: int = 0,
    path: str | os.PathLike | None = None,
) -> Any:
    """Example precipitation maps of each cluster, one row per cluster.

    Parameters
    ----------
    maps : numpy.ndarray
        ``(maps, rows, cols)`` precipitation (mm/h), NaN outside the data.
    labels : numpy.ndarray
        Cluster of each map.
    cluster_titles : sequence of str
        A label per cluster (row titles).
    per_cluster : int
        Examples drawn at random per cluster.
    scores : numpy.ndarray, optional
        True score of each map, shown above its panel.
    path : path, optional
        Write a PNG there.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    maps = np.asarray(maps)
    labels = np.asarray(labels)
    if maps.ndim != 3 or maps.shape[0] != labels.shape[0]:
        raise InvalidArgumentError(
            f"maps/labels: expected (maps, rows, cols) and one label per map, got {maps.shape} "
            f"and {labels.shape}."
        )
    n = len(cluster_titles)
    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(n, per_cluster, figsize=(2.0 * per_cluster, 1.7 * n), squeeze=False)
    image = None
    for k in range(n):
        members = np.flatnonzero(labels == k)
        chosen = rng.choice(members, min(per_cluster, members.size), replace=False)
        for j in range(per_cluster):
            ax = axes[k, j]
            ax.set_xticks([])
            ax.set_yticks([])
            if j < chosen.size:
                i = chosen[j]
                image = ax.imshow(maps[i], origin="lower", cmap="Blues", vmin=0, vmax=vmax)
                if scores is not None and np.isfinite(scores[i]):
                    ax.set_title(f"CSI {scores[i]:.2f}", fontsize=7)
            if j == 0:
                ax.set_ylabel(f"{k}: {cluster_titles[k]}", fontsize=6, rotation=0, ha="right")
    if image is not None:
        fig.colorbar(image, ax=axes, shrink=0.6, label="IMERG precipitation (mm/h)")
    if path is not None:
        fig.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(fig)
    return fig
