"""Clusters of the learned scorer's latent space: SOM (DESOM), DEC, labels, variance explained."""

from __future__ import annotations

import numpy as np
import pytest

from xgpm.errors import InvalidArgumentError
from xgpm.verify.learned import clusters as cl


def _blobs(n_per: int = 40, dim: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = np.zeros((3, dim))
    centres[0, 0], centres[1, 1], centres[2, 2] = 10.0, 10.0, 10.0
    z = np.concatenate([c + rng.normal(0, 0.5, (n_per, dim)) for c in centres])
    truth = np.repeat(np.arange(3), n_per)
    order = rng.permutation(truth.size)
    return z[order], truth[order]


def _is_pure(predicted: np.ndarray, truth: np.ndarray) -> bool:
    """Every predicted cluster holds maps of one true cluster only."""
    return all(np.unique(truth[predicted == k]).size == 1 for k in np.unique(predicted))


def test_dec_recovers_separable_clusters():
    z, truth = _blobs()
    dec = cl.DeepEmbeddedClustering(3, seed=1).fit(z)
    labels = dec.predict(z)
    assert _is_pure(labels, truth) and np.unique(labels).size == 3
    q = dec.soft_assignment(z)
    np.testing.assert_allclose(q.sum(1), 1.0)
    # confident on well separated data
    assert np.median(q.max(1)) > 0.9


def test_dec_refinement_lowers_kl_to_target():
    rng = np.random.default_rng(3)
    z = np.concatenate([rng.normal(0, 1, (60, 4)), rng.normal(2.5, 1, (60, 4))])

    def kl(model):
        q = model.soft_assignment(z)
        p = q**2 / q.sum(0)
        p /= p.sum(1, keepdims=True)
        return float((p * np.log(p / q)).sum())

    kmeans = cl.DeepEmbeddedClustering(2, iterations=0, seed=0).fit(z)
    refined = cl.DeepEmbeddedClustering(2, iterations=50, seed=0).fit(z)
    assert kl(refined) < kl(kmeans)


def test_som_recovers_separable_clusters():
    z, truth = _blobs()
    som = cl.SelfOrganizingMap((2, 2), seed=0).fit(z)
    nodes = som.predict(z)
    assert _is_pure(nodes, truth)
    assert np.unique(nodes).size >= 3


def test_som_is_topology_preserving_on_a_line():
    # points along a line in 3-D: a 1 x 5 map orders its prototypes along it
    t = np.linspace(0, 1, 200)
    z = np.stack([t, 2 * t, -t], axis=1) + np.random.default_rng(0).normal(0, 0.01, (200, 3))
    som = cl.SelfOrganizingMap((1, 5), seed=0).fit(z)
    position = som.prototypes[:, 0]
    steps = np.diff(position)
    assert np.all(steps > 0) or np.all(steps < 0)
    assert som.loss(z) < cl.SelfOrganizingMap((1, 5), epochs=1, seed=0).fit(z).loss(z)


def test_variance_explained_hand_case():
    scores = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, np.nan])
    labels = np.array([0, 0, 0, 1, 1, 1, 1])
    # cluster means 2 and 5, overall 3.5: between 2 * 3 * 1.5^2 = 13.5, total 17.5
    assert cl.variance_explained(scores, labels) == pytest.approx(13.5 / 17.5)
    assert cl.variance_explained(scores, np.zeros(7, int)) == pytest.approx(0.0)
    assert cl.variance_explained(scores, np.arange(7)) == pytest.approx(1.0)
    assert np.isnan(cl.variance_explained(np.ones(4), np.array([0, 0, 1, 1])))


def test_cluster_stats_and_labels():
    labels = np.array([0, 0, 0, 0, 1, 1, 2])
    scores = np.array([0.1, 0.2, 0.3, 0.4, 0.8, np.nan, np.nan])
    stats = cl.cluster_stats(labels, scores, 4)
    np.testing.assert_allclose(stats[0], [4, 0.25, 0.175, 0.325])
    np.testing.assert_allclose(stats[1], [1, 0.8, 0.8, 0.8])
    assert stats[2, 0] == 0 and np.isnan(stats[2, 1]) and np.isnan(stats[3, 1])
    assert cl.cluster_label(*stats[0, 1:]).startswith("low CSI (median 0.25")
    assert cl.cluster_label(*stats[1, 1:]).startswith("high")
    assert cl.cluster_label(0.35, 0.3, 0.4).startswith("medium")
    assert cl.cluster_label(*stats[2, 1:]).startswith("unknown")


def test_bad_input_raises_clear_errors():
    with pytest.raises(InvalidArgumentError, match="2-D"):
        cl.DeepEmbeddedClustering(2).fit(np.zeros(5))
    with pytest.raises(InvalidArgumentError, match="NaN"):
        cl.SelfOrganizingMap((1, 2)).fit(np.array([[0.0, np.nan], [1.0, 1.0]]))
    with pytest.raises(InvalidArgumentError, match="not fitted"):
        cl.SelfOrganizingMap((2, 2)).predict(np.zeros((3, 2)))
    with pytest.raises(InvalidArgumentError, match="not fitted"):
        cl.DeepEmbeddedClustering(2).predict(np.zeros((3, 2)))
    with pytest.raises(InvalidArgumentError, match="nodes"):
        cl.SelfOrganizingMap((3, 3)).fit(np.zeros((4, 2)))
    with pytest.raises(InvalidArgumentError, match="n_clusters"):
        cl.DeepEmbeddedClustering(1)
    with pytest.raises(InvalidArgumentError, match="shapes"):
        cl.variance_explained(np.zeros(3), np.zeros(4))


def test_plots_write_png(tmp_path):
    z, truth = _blobs(n_per=10)
    stats = cl.cluster_stats(truth, truth / 3.0, 4)
    path = tmp_path / "som.png"
    cl.plot_som_scores(stats, (2, 2), path=path)
    assert path.read_bytes()[:4] == b"\x89PNG"
    maps = np.random.default_rng(0).gamma(0.5, 2.0, (truth.size, 8, 10))
    path = tmp_path / "examples.png"
    cl.plot_cluster_examples(maps, truth, ["a", "b", "c"], per_cluster=2, path=path)
    assert path.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(InvalidArgumentError, match="som_stats"):
        cl.plot_som_scores(stats, (3, 3))
