"""Satpy plugin readers for NASA PPS GPM granules (1C radiometers, 2A-DPR, 2A-GPROF, IMERG).

Satpy finds the reader definitions in ``xgpm/satpy_reader/etc/readers/*.yaml`` through the
``satpy.readers`` entry point, and imports this package for every reader lookup, so it imports
nothing: the file handlers live in :mod:`xgpm.satpy_reader.gpm_l1c` and
:mod:`xgpm.satpy_reader.gpm_l2_l3`, loaded when a reader's YAML is read. Every reader takes local
paths, fsspec URLs (``s3://``, ``memory://`` ...) and :class:`satpy.readers.FSFile` objects.

Readers: ``gmi_l1c_h5``, ``ssmis_l1c_h5``, ``amsr2_l1c_h5``, ``tmi_l1c_h5``, ``ssmi_l1c_h5``,
``atms_l1c_h5``, ``mhs_l1c_h5`` (brightness temperatures named by GPM-API channel label, e.g.
``"89V"``), ``dpr_l2a_h5`` (2-D near-surface fields), ``gprof_l2a_h5`` (2A-GPROF fields such as
``surfacePrecipitation`` on the swath) and ``imerg_hhr_h5`` (IMERG half-hourly fields such as
``precipitation`` on the 0.1 degree grid, an ``AreaDefinition``).

Examples
--------
>>> from satpy import Scene  # doctest: +SKIP
>>> scn = Scene(reader="gmi_l1c_h5", filenames=["1C.GPM.GMI.XCAL2016-C....HDF5"])  # doctest: +SKIP
>>> scn.load(["89V", "183V7"])  # doctest: +SKIP
"""

from __future__ import annotations

#: Names of the readers this plugin provides (one YAML file each in ``etc/readers``).
READERS: tuple[str, ...] = (
    "gmi_l1c_h5",
    "ssmis_l1c_h5",
    "amsr2_l1c_h5",
    "tmi_l1c_h5",
    "ssmi_l1c_h5",
    "atms_l1c_h5",
    "mhs_l1c_h5",
    "dpr_l2a_h5",
    "gprof_l2a_h5",
    "imerg_hhr_h5",
)

__all__ = ["READERS"]
