"""Old home of the radar references for scoring, now :mod:`xgpm.verify.reference`.

``xgpm.reference`` stays a public name: its public functions are re-exported here for good; its
private helpers warn (``DeprecationWarning``) for one release.
"""

from __future__ import annotations

from xgpm._deprecated import moved_names
from xgpm.verify.reference import (  # noqa: F401
    aggregate_half_hourly,
    radar_rate,
    reference_for,
    regrid_to_grid,
)

__all__ = ["radar_rate", "aggregate_half_hourly", "regrid_to_grid", "reference_for"]

__getattr__ = moved_names(
    __name__,
    {
        "_RATE_UNITS": "xgpm.verify.reference",
        "_check_imerg_grid": "xgpm.verify.reference",
        "_edges": "xgpm.verify.reference",
        "_fraction": "xgpm.verify.reference",
        "_proj": "xgpm.verify.reference",
        "_regrid_matrix": "xgpm.verify.reference",
        "_target_cell_area_km2": "xgpm.verify.reference",
    },
)
