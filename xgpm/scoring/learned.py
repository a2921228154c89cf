"""Old home of the learned scorer, now :mod:`xgpm.verify.learned.scorer`.

Public names re-exported for good (model cards name ``xgpm.scoring.learned:ScorerNet``); private
ones warn (``DeprecationWarning``) for one release.
"""

from __future__ import annotations

from xgpm._deprecated import moved_names
from xgpm.verify.learned.features import (  # noqa: F401
    REQUIRED_VARIABLES,
)
from xgpm.verify.learned.scorer import (  # noqa: F401
    INPUT_CHANNELS,
    TARGETS,
    ScorerNet,
    ScorerTrainResult,
    check_imerg,
    clusterings,
    count_parameters,
    fit_clusters,
    imerg_features,
    latent,
    predict_scores,
    score_without_reference,
    target_table,
    train_scorer,
)

__all__ = [
    "INPUT_CHANNELS",
    "TARGETS",
    "ScorerNet",
    "ScorerTrainResult",
    "check_imerg",
    "clusterings",
    "count_parameters",
    "fit_clusters",
    "imerg_features",
    "latent",
    "predict_scores",
    "score_without_reference",
    "target_table",
    "train_scorer",
]

__getattr__ = moved_names(
    __name__,
    {
        "_GRID_STEP": "xgpm.verify.learned.features",
        "_INPUT_RANGES": "xgpm.verify.learned.features",
        "_batched": "xgpm.verify.learned.scorer",
        "_check_input_values": "xgpm.verify.learned.features",
        "_crop_to_grid": "xgpm.verify.learned.scorer",
        "_features_numpy": "xgpm.verify.learned.features",
        "_label_lookup": "xgpm.verify.learned.scorer",
        "_loss": "xgpm.verify.learned.scorer",
        "_predict_block": "xgpm.verify.learned.scorer",
        "_resolve": "xgpm.verify.learned.scorer",
        "_standardise": "xgpm.verify.learned.scorer",
    },
)
