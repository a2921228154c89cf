"""Scoring IMERG maps without a reference: ``xgpm.scoring``.

:mod:`xgpm.scoring.baseline` predicts per-map scores from IMERG's own quality index (the yardstick
a learned scorer must beat). See ``docs/scoring.md``.
"""

from __future__ import annotations

from xgpm.scoring.baseline import (
    DEFAULT_FEATURES,
    QualityIndexBaseline,
    evaluate_predictions,
    target_scores,
)

__all__ = ["DEFAULT_FEATURES", "QualityIndexBaseline", "evaluate_predictions", "target_scores"]
