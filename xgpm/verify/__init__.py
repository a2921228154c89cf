"""Verification of precipitation products against a reference: ``xgpm.verify``.

Layering (as in xskillscore): NumPy kernels of sufficient statistics (``_kernels``) ->
``xr.apply_ufunc(dask="parallelized")`` wrappers (``_stats``) -> public functions
(:mod:`~xgpm.verify.continuous`, :mod:`~xgpm.verify.categorical`, :mod:`~xgpm.verify.fss`),
mergeable accumulators (:class:`ScoreAccumulator`) and :func:`score`.

Conventions: pairs are used where forecast and reference are both finite (and ``mask`` is True);
event = ``value >= threshold``; FSS with zero padding outside the domain. See ``docs/verify.md``.

Also here, imported on demand (not by this package): the retrieval evaluation
(:mod:`~xgpm.verify.retrieval`, with :mod:`~xgpm.verify.resolution` and
:mod:`~xgpm.verify.calibration`; formerly ``xgpm.evaluate``), the radar references
(:mod:`~xgpm.verify.reference`; formerly ``xgpm.reference``), the learned scorer
(:mod:`xgpm.verify.learned`; formerly ``xgpm.scoring``) and ground-radar validation
(:mod:`~xgpm.verify.ground_radar`).
"""

from __future__ import annotations

from xgpm.verify._stats import (
    ALL_METRICS,
    CATEGORICAL_METRICS,
    CONTINUOUS_METRICS,
    FSS_METRICS,
    PER_MAP_ONLY_METRICS,
    finalize,
)
from xgpm.verify.accumulate import ScoreAccumulator, sufficient_statistics
from xgpm.verify.categorical import (
    contingency_table,
    csi,
    ets,
    far,
    frequency_bias,
    hss,
    pod,
    pofd,
)
from xgpm.verify.continuous import (
    bias,
    kge,
    mae,
    mse,
    pearson_r,
    relative_bias,
    rmse,
    smape,
    spearman_r,
)
from xgpm.verify.fss import fss, fss_useful_scale
from xgpm.verify.score import score

__all__ = [
    "ALL_METRICS",
    "CATEGORICAL_METRICS",
    "CONTINUOUS_METRICS",
    "FSS_METRICS",
    "PER_MAP_ONLY_METRICS",
    "ScoreAccumulator",
    "bias",
    "contingency_table",
    "csi",
    "ets",
    "far",
    "finalize",
    "frequency_bias",
    "fss",
    "fss_useful_scale",
    "hss",
    "kge",
    "mae",
    "mse",
    "pearson_r",
    "pod",
    "pofd",
    "relative_bias",
    "rmse",
    "score",
    "smape",
    "spearman_r",
    "sufficient_statistics",
]
