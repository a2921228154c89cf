"""Old home of the inference engine: now :mod:`xgpm.models.inference` (and ``models._tiling``).

``xgpm.inference`` stays a public name: its public functions are re-exported here for good; its
private helpers warn (``DeprecationWarning``) for one release.
"""

from __future__ import annotations

from xgpm._deprecated import moved_names
from xgpm.models._tiling import (  # noqa: F401
    AUTO_BLOCK_PIXELS,
    boundary_padding,
    check_device,
)
from xgpm.models.inference import (  # noqa: F401
    ENGINE_VERSION,
    OUTPUT_DIM,
    TB_RANGE_K,
    _input_sensor,
    apply_model,
    auto_chunks,
    check_brightness_temperatures,
    check_inputs,
    geometry,
    model_preloader,
    predict_numpy,
)

__all__ = [
    "ENGINE_VERSION",
    "apply_model",
    "predict_numpy",
    "model_preloader",
    "geometry",
    "auto_chunks",
    "OUTPUT_DIM",
    "TB_RANGE_K",
    "check_brightness_temperatures",
]

__getattr__ = moved_names(
    __name__,
    {
        "_FILL_LIKE": "xgpm.models.inference",
        "_Plan": "xgpm.models._tiling",
        "_absorb": "xgpm.models._tiling",
        "_apply_numpy_model": "xgpm.models.inference",
        "_check_chunks": "xgpm.models.inference",
        "_check_device_here": "xgpm.models._tiling",
        "_check_tb_lazy_or_now": "xgpm.models.inference",
        "_checked_block": "xgpm.models.inference",
        "_dask_torch": "xgpm.models.inference",
        "_diagnose_tb": "xgpm.models.inference",
        "_edge_widths": "xgpm.models._tiling",
        "_forward": "xgpm.models._tiling",
        "_merge_small": "xgpm.models._tiling",
        "_overlap_block": "xgpm.models._tiling",
        "_pad_edges": "xgpm.models._tiling",
        "_plan": "xgpm.models.inference",
        "_positive_int": "xgpm.models._tiling",
        "_predict_numpy_model": "xgpm.models.inference",
        "_predict_swath": "xgpm.models.inference",
        "_predict_torch_block": "xgpm.models._tiling",
        "_split_outputs": "xgpm.models.inference",
        "_starts": "xgpm.models._tiling",
        "_tile_bounds": "xgpm.models._tiling",
        "_torch_threads": "xgpm.models._tiling",
    },
)
