"""Old home of the quality-index baseline, now :mod:`xgpm.verify.learned.baseline`.

Public names re-exported for good; private ones warn (``DeprecationWarning``) for one release.
"""

from __future__ import annotations

from xgpm._deprecated import moved_names
from xgpm.verify.learned.baseline import (  # noqa: F401
    DEFAULT_FEATURES,
    QualityIndexBaseline,
    evaluate_predictions,
    target_scores,
)

__all__ = ["DEFAULT_FEATURES", "QualityIndexBaseline", "evaluate_predictions", "target_scores"]

__getattr__ = moved_names(
    __name__,
    {
        "_FORMAT": "xgpm.verify.learned.baseline",
        "_features_matrix": "xgpm.verify.learned.baseline",
        "_time_only": "xgpm.verify.learned.baseline",
    },
)
