"""Old home of the scorer's clusters, now :mod:`xgpm.verify.learned.clusters`.

Public names re-exported for good; private ones warn (``DeprecationWarning``) for one release.
"""

from __future__ import annotations

from xgpm._deprecated import moved_names
from xgpm.verify.learned.clusters import (  # noqa: F401
    STAT_NAMES,
    DeepEmbeddedClustering,
    SelfOrganizingMap,
    cluster_label,
    cluster_stats,
    plot_cluster_examples,
    plot_som_scores,
    variance_explained,
)

__all__ = [
    "DeepEmbeddedClustering",
    "SelfOrganizingMap",
    "cluster_label",
    "cluster_stats",
    "plot_cluster_examples",
    "plot_som_scores",
    "variance_explained",
]

__getattr__ = moved_names(
    __name__,
    {
        "_as_latent": "xgpm.verify.learned.clusters",
        "_squared_distances": "xgpm.verify.learned.clusters",
    },
)
