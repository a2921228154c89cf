"""Old home of the retrieval evaluation, now :mod:`xgpm.verify.retrieval`.

``xgpm.evaluate`` stays a public name: its public functions are re-exported here for good (from
``verify.retrieval``, ``verify.resolution``, ``verify.calibration``); its private helpers warn
(``DeprecationWarning``) for one release.
"""

from __future__ import annotations

from xgpm._deprecated import moved_names
from xgpm.verify.retrieval import (  # noqa: F401
    COHERENCE_THRESHOLD,
    SATRAIN_METRICS,
    coherence_spectrum,
    effective_resolution,
    evaluate_retrieval,
    metrics_table,
    plot_coherence,
    plot_quantile_calibration,
    quantile_calibration,
)

__all__ = [
    "SATRAIN_METRICS",
    "COHERENCE_THRESHOLD",
    "evaluate_retrieval",
    "effective_resolution",
    "coherence_spectrum",
    "metrics_table",
    "plot_coherence",
    "quantile_calibration",
    "plot_quantile_calibration",
]

__getattr__ = moved_names(
    __name__,
    {
        "_ATTRS": "xgpm.verify.retrieval",
        "_CATEGORICAL": "xgpm.verify.retrieval",
        "_CONTINUOUS": "xgpm.verify.retrieval",
        "_GRID_DIMS": "xgpm.verify.resolution",
        "_NICE_TICKS": "xgpm.verify.retrieval",
        "_SWATH_DIMS": "xgpm.verify.resolution",
        "_band_edges": "xgpm.verify.resolution",
        "_check_inputs": "xgpm.verify.retrieval",
        "_check_threshold": "xgpm.verify.retrieval",
        "_effective_resolution_or_inf": "xgpm.verify.retrieval",
        "_is_lazy": "xgpm.verify.retrieval",
        "_level_values": "xgpm.verify.calibration",
        "_reduce_dims": "xgpm.verify.retrieval",
        "_resolve_spatial_dims": "xgpm.verify.resolution",
        "_scores": "xgpm.verify.retrieval",
        "_stratified": "xgpm.verify.retrieval",
        "_strict": "xgpm.verify.retrieval",
        "_windows": "xgpm.verify.resolution",
    },
)
