"""The constellation simulator: truth scenes, forward model, orbits, instruments and products.

Physics (truth scenes and the microwave forward model) live in :mod:`xgpm.simulate.scenes`
(with :mod:`~xgpm.simulate.geography` and :mod:`~xgpm.simulate.climatology`) and
:mod:`xgpm.simulate.rtm` (with :mod:`~xgpm.simulate.spectroscopy`); the observing system in
:mod:`xgpm.simulate.regions`, :mod:`xgpm.simulate.orbits`, :mod:`xgpm.simulate.instruments` (with
:mod:`~xgpm.simulate.swath_datasets`), :mod:`xgpm.simulate.imerg`, :mod:`xgpm.simulate.radar`
and :mod:`xgpm.simulate.products` (the product set, files and catalog).
Names are resolved lazily so that ``import xgpm.simulate`` stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: Version of the simulated values (truth fields, forward model, instruments, products). Every
#: cache of simulated scenes, matchups, tiles or evaluation results is keyed by it, so that a
#: changed simulator never feeds a stale cache into a table: bump it (today's date) whenever
#: simulated values change.
SIMULATOR_VERSION = "2026-12-08"

_LAZY: dict[str, str] = {
    "truth_scene": "xgpm.simulate.scenes",
    "iter_truth_scenes": "xgpm.simulate.scenes",
    "REGIMES": "xgpm.simulate.scenes",
    "brightness_temperature": "xgpm.simulate.rtm",
    "brightness_temperatures": "xgpm.simulate.rtm",
    "ocean_emissivity": "xgpm.simulate.rtm",
    # Observing system (orbits, instruments, products).
    "granules": "xgpm.simulate.orbits",
    "ground_track": "xgpm.simulate.orbits",
    "swath_geometry": "xgpm.simulate.orbits",
    "find_coincidences": "xgpm.simulate.orbits",
    "simulate_radiometer": "xgpm.simulate.instruments",
    "simulate_dpr": "xgpm.simulate.instruments",
    "observe_platform": "xgpm.simulate.instruments",
    "simulate": "xgpm.simulate.products",
    "simulate_imerg": "xgpm.simulate.imerg",
    "simulate_radar": "xgpm.simulate.radar",
    "simulate_to_disk": "xgpm.simulate.products",
    "get_region": "xgpm.simulate.regions",
    "REGIONS": "xgpm.simulate.regions",
}

__all__ = [
    "REGIMES",
    "REGIONS",
    "SIMULATOR_VERSION",
    "brightness_temperature",
    "brightness_temperatures",
    "find_coincidences",
    "get_region",
    "granules",
    "ground_track",
    "iter_truth_scenes",
    "observe_platform",
    "ocean_emissivity",
    "simulate",
    "simulate_dpr",
    "simulate_imerg",
    "simulate_radar",
    "simulate_radiometer",
    "simulate_to_disk",
    "swath_geometry",
    "truth_scene",
]

if TYPE_CHECKING:  # pragma: no cover
    from xgpm.simulate.imerg import simulate_imerg
    from xgpm.simulate.instruments import observe_platform, simulate_dpr, simulate_radiometer
    from xgpm.simulate.orbits import find_coincidences, granules, ground_track, swath_geometry
    from xgpm.simulate.products import simulate, simulate_to_disk
    from xgpm.simulate.radar import simulate_radar
    from xgpm.simulate.regions import REGIONS, get_region
    from xgpm.simulate.rtm import brightness_temperature, brightness_temperatures, ocean_emissivity
    from xgpm.simulate.scenes import REGIMES, iter_truth_scenes, truth_scene


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'xgpm.simulate' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
