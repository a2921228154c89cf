"""asv benchmarks of ``xgpm.process``: GMI granules -> rainrate on dask.distributed -> Zarr.

The workers run as threads of the benchmark process (one single-threaded worker), so asv's
``peakmem_*`` sees the whole pipeline: read, DRAIN retrieval, ordered commit to the store. The
scaling with worker processes is measured by ``benchmarks/compare_process_scaling.py``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from compare_process_scaling import write_archive

from xgpm.process.core import process


class ProcessArchive:
    """The default GMI pipeline (``rainrate``) over N granules of 300 scans into a local store."""

    params = [4, 16]
    param_names = ["granules"]
    smoke_params = [2]
    timeout = 600
    scans = 300

    def setup(self, granules: int) -> None:
        work = Path(os.environ.get("XGPM_BENCH_DIR", tempfile.gettempdir())) / "xgpm-bench"
        self.archive = write_archive(work / f"process-{self.scans}", max(granules, 2), self.scans)
        self.refs = [str(p) for p in sorted(self.archive.glob("*.HDF5"))[:granules]]
        self.out = Path(tempfile.mkdtemp(prefix="xgpm-process-bench-"))

    def smoke_setup(self, granules: int) -> None:
        """Two granules of 40 scans (the test suite runs every benchmark once)."""
        self.scans = 40
        self.setup(granules)

    def teardown(self, granules: int) -> None:
        shutil.rmtree(self.out, ignore_errors=True)

    def _run(self, name: str) -> None:
        summary = process(
            self.refs,
            self.out / name,
            pipeline=["rainrate"],
            processes=False,
            n_workers=1,
            overwrite=True,
            progress=False,
        )
        assert summary.processed == len(self.refs), summary

    def time_process_rainrate(self, granules: int) -> None:
        self._run("time.zarr")

    def peakmem_process_rainrate(self, granules: int) -> None:
        self._run("peakmem.zarr")
