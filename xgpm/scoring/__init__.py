"""Scoring IMERG maps without a reference: ``xgpm.scoring``, now :mod:`xgpm.verify.learned`.

``xgpm.scoring`` stays a public name; its submodules (``baseline``, ``learned``, ``clusters``,
``cli``) re-export their public names from :mod:`xgpm.verify.learned` for good, their private
ones for one release with a ``DeprecationWarning``.
"""

from __future__ import annotations

from xgpm.verify.learned.baseline import (
    DEFAULT_FEATURES,
    QualityIndexBaseline,
    evaluate_predictions,
    target_scores,
)

__all__ = ["DEFAULT_FEATURES", "QualityIndexBaseline", "evaluate_predictions", "target_scores"]
