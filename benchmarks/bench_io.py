"""asv benchmarks of xgpm's readers and writers, and of ``import xgpm``."""

from __future__ import annotations

import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))

from _granules import full_gmi_modes, write_full_gmi  # noqa: E402

import xgpm  # noqa: E402
from xgpm.io import _hdf5  # noqa: E402


class ImportTime:
    """``import xgpm`` stays light: no torch, numba or satpy at import."""

    def timeraw_import_xgpm(self):
        return "import xgpm"


class ReadGMI:
    """Open a full 1C-GMI granule and load its brightness temperatures."""

    timeout = 300

    def setup(self):
        self.path = write_full_gmi()

    def time_open_only(self):
        _hdf5.close_cached()
        xgpm.open_granule(self.path, scan_mode="S1")

    def time_open_and_load_tc_s1_s2(self):
        _hdf5.close_cached()
        for mode in ("S1", "S2"):
            _ = xgpm.open_granule(self.path, scan_mode=mode, variables="Tc")["Tc"].values

    def time_open_and_load_tc_merged(self):
        _hdf5.close_cached()
        _ = xgpm.open_granule(self.path, variables="Tc")["Tc"].values

    def peakmem_open_and_load_tc_merged(self):
        _hdf5.close_cached()
        _ = xgpm.open_granule(self.path, variables="Tc")["Tc"].values


class WriteGMI:
    """Write a full 1C-GMI granule (the simulator writes every product this way)."""

    timeout = 300

    def setup(self):
        self.modes = full_gmi_modes()
        self.dir = tempfile.mkdtemp()

    def time_write_full_orbit(self):
        xgpm.write_granule(self.modes, self.dir, granule_number=1, overwrite=True)
