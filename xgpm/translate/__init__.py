"""Domain adaptation: any constellation radiometer to pseudo-GMI (``ds.gpm.to_gmi()``).

:func:`to_gmi` translates a 1C swath with a registered translation model (cards with
``task: to_gmi``; :func:`to_gmi_models` lists them). Baselines live in
:mod:`xgpm.translate.baselines`, resampling to GMI's pixel spacing in :mod:`xgpm.translate.grid`,
paired simulated scenes for training and evaluation in :mod:`xgpm.translate.scenes`, the
evaluation in :mod:`xgpm.translate.evaluate`. The learned translations (CycleGAN_R, Red-GAN, DANN)
are :mod:`xgpm.translate.cyclegan` (their public face: networks, losses, trainers and checkpoints
live in modules of their own, see docs/architecture.md), :mod:`xgpm.translate.dann` and the
command :mod:`xgpm.translate.train`. Names are resolved on first use, so importing a submodule
(the command line) stays light; nothing here imports torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_LAZY = {
    "SAMPLINGS": "xgpm.translate.core",
    "find_model": "xgpm.translate.core",
    "to_gmi": "xgpm.translate.core",
    "to_gmi_models": "xgpm.translate.core",
}

__all__ = sorted(_LAZY)

if TYPE_CHECKING:  # pragma: no cover
    from xgpm.translate.core import SAMPLINGS, find_model, to_gmi, to_gmi_models  # noqa: F401


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'xgpm.translate' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
