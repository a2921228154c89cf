"""xgpm: the GPM passive-microwave constellation as if every satellite carried GMI.

Importing xgpm is light: it registers the ``gpm`` / ``xgpm`` accessors and exposes the public
functions, whose heavy dependencies (torch, numba, satpy) are imported on first use only.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from xgpm import accessor as _accessor  # noqa: F401  (registers ds.gpm / ds.xgpm)
from xgpm._version import __version__
from xgpm.errors import XGPMError, XGPMWarning

# Public name -> module that defines it. Resolved on first attribute access (PEP 562) so that
# ``import xgpm`` does not import h5py, dask.distributed, numba or torch.
_LAZY: dict[str, str] = {
    "open_granule": "xgpm.io.read",
    "open_granules": "xgpm.io.read",
    "merge_scan_modes": "xgpm.io.read",
    "write_granule": "xgpm.io.write",
    "pps_filename": "xgpm.io.filenames",
    "parse_filename": "xgpm.io.filenames",
    "sensors": "xgpm.sensors",
    "products": "xgpm.io.products",
    "pct": "xgpm.channels",
    "select_channels": "xgpm.channels",
    "colocate": "xgpm.colocation",
    "rainrate": "xgpm.retrieve",
    "to_gmi": "xgpm.translate",
    "process": "xgpm.process",
    "translate": "xgpm.translate",
    "models": "xgpm.models",
    "inference": "xgpm.inference",
    "reference": "xgpm.reference",
    "simulate": "xgpm.simulate",
    "scoring": "xgpm.scoring",
    "evaluate": "xgpm.evaluate",
    "evaluate_retrieval": "xgpm.verify.retrieval",
    "open_radar_composite": "xgpm.io.odim",
    "verify": "xgpm.verify",
    "score": "xgpm.verify",
}

__all__ = ["XGPMError", "XGPMWarning", "__version__", *sorted(_LAZY)]

if TYPE_CHECKING:  # pragma: no cover
    from xgpm import inference, models, process, reference, sensors, verify  # noqa: F401
    from xgpm.channels import pct, select_channels  # noqa: F401
    from xgpm.colocation import colocate  # noqa: F401
    from xgpm.io import products  # noqa: F401
    from xgpm.io.filenames import parse_filename, pps_filename  # noqa: F401
    from xgpm.io.read import merge_scan_modes, open_granule, open_granules  # noqa: F401
    from xgpm.io.write import write_granule  # noqa: F401
    from xgpm.retrieve import rainrate  # noqa: F401
    from xgpm.translate import to_gmi  # noqa: F401
    from xgpm.verify import score  # noqa: F401


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'xgpm' has no attribute {name!r}")
    module = importlib.import_module(module_name)
    value = module if module_name.endswith("." + name) else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
