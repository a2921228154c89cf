"""Scoring IMERG maps without a reference (also ``xgpm.scoring``).

:mod:`~xgpm.verify.learned.baseline` predicts per-map scores from IMERG's own quality index (the
yardstick a learned scorer must beat); :mod:`~xgpm.verify.learned.scorer` is the learned scorer
(an autoencoder: :mod:`~xgpm.verify.learned.network`, inputs and targets in
:mod:`~xgpm.verify.learned.features`), :mod:`~xgpm.verify.learned.clusters` the SOM/DESOM and
DEC clusters of its latent space, :mod:`~xgpm.verify.learned.cli` ``xgpm train scorer``. See
``docs/scoring.md``. Only the baseline is imported here: the rest imports torch, on demand.
"""

from __future__ import annotations

from xgpm.verify.learned.baseline import (
    DEFAULT_FEATURES,
    QualityIndexBaseline,
    evaluate_predictions,
    target_scores,
)

__all__ = ["DEFAULT_FEATURES", "QualityIndexBaseline", "evaluate_predictions", "target_scores"]
