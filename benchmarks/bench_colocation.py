"""asv benchmarks of xgpm.colocation (synthetic full orbits, see xgpm.colocation._testing)."""

from __future__ import annotations

import numpy as np


def _orbits():
    from xgpm.colocation._testing import dpr_orbit, gmi_orbit, ssmis_orbit

    return gmi_orbit(), ssmis_orbit(), dpr_orbit()


class ColocateFullOrbit:
    """Full GMI orbit onto a full SSMIS S3 orbit, and full DPR orbit onto GMI."""

    params = (["nearest", "mean", "gaussian"],)
    param_names = ["method"]
    timeout = 300

    def setup(self, method):
        from xgpm.colocation import colocate

        self.colocate = colocate
        self.gmi, self.ssmis, self.dpr = _orbits()
        self.kwargs = {"method": method, "footprint_km": (7.3, 4.4)}
        # Compile (or load from the numba cache) every kernel used before timing.
        small = self.ssmis.isel(along_track=slice(0, 40))
        colocate(self.gmi, small, radius_km=15, on_empty="nan", **self.kwargs)
        colocate(self.dpr, self.gmi.isel(along_track=slice(0, 40)), radius_km=5, **self.kwargs)

    def time_gmi_on_ssmis(self, method):
        self.colocate(self.gmi, self.ssmis, radius_km=15, **self.kwargs)

    def time_dpr_on_gmi(self, method):
        self.colocate(self.dpr, self.gmi, radius_km=10, max_dt="5min", **self.kwargs)

    def peakmem_gmi_on_ssmis(self, method):
        self.colocate(self.gmi, self.ssmis, radius_km=15, **self.kwargs)

    def peakmem_dpr_on_gmi(self, method):
        self.colocate(self.dpr, self.gmi, radius_km=10, max_dt="5min", **self.kwargs)


class ColocateFullOrbitThreaded:
    """Nearest neighbour on the same full orbits with 2 threads (chunks of equal work)."""

    timeout = 300

    def setup(self):
        from xgpm.colocation import colocate

        self.colocate = colocate
        self.gmi, self.ssmis, self.dpr = _orbits()
        small = self.ssmis.isel(along_track=slice(0, 40))
        colocate(self.gmi, small, radius_km=15, on_empty="nan", num_threads=2)

    def time_gmi_on_ssmis(self):
        self.colocate(self.gmi, self.ssmis, radius_km=15, num_threads=2)

    def time_dpr_on_gmi(self):
        self.colocate(self.dpr, self.gmi, radius_km=5, num_threads=2)


class ColocateDask:
    """Lazy colocation, chunked along along_track, computed with the threaded scheduler."""

    timeout = 300

    def setup(self):
        from xgpm.colocation import colocate

        self.colocate = colocate
        self.gmi, self.ssmis, _ = _orbits()
        self.gmi_chunked = self.gmi.chunk(along_track=500)
        self.ssmis_chunked = self.ssmis.chunk(along_track=400)
        colocate(self.gmi, self.ssmis.isel(along_track=slice(0, 40)), radius_km=15, on_empty="nan")

    def time_gmi_on_ssmis_dask(self):
        self.colocate(self.gmi_chunked, self.ssmis_chunked, radius_km=15).compute(
            scheduler="threads"
        )


class GridToSwath:
    """Bilinear sampling of a global 0.1 deg grid at a full GMI orbit."""

    timeout = 300

    def setup(self):
        import xarray as xr

        from xgpm.colocation import colocate

        self.colocate = colocate
        self.gmi = _orbits()[0]
        lat = np.arange(-89.95, 90.0, 0.1)
        lon = np.arange(-179.95, 180.0, 0.1)
        self.grid = xr.Dataset(
            {"precip": (("lat", "lon"), np.ones((lat.size, lon.size), np.float32))},
            coords={"lat": lat, "lon": lon},
        )
        colocate(
            self.grid, self.gmi.isel(along_track=slice(0, 10)), radius_km=20, method="bilinear"
        )

    def time_bilinear(self):
        self.colocate(self.grid, self.gmi, radius_km=20, method="bilinear")


class KernelParts:
    """Building blocks of the swath kernel on a full GMI orbit: unit vectors and tile caps."""

    timeout = 300

    def setup(self):
        from xgpm.colocation import _kernels as k

        self.k = k
        gmi = _orbits()[0]
        self.lon = np.ascontiguousarray(gmi.lon.values)
        self.lat = np.ascontiguousarray(gmi.lat.values)
        self.time = gmi.time.values.astype("datetime64[ns]").astype(np.int64)
        self.xyz = np.empty((3, self.lon.size))
        k._xyz_run(self.lon.ravel(), self.lat.ravel(), self.xyz, self.lon.size)
        k.tile_caps(self.lon, self.lat, self.time, False, 13, 5)

    def time_unit_vectors(self):
        self.k._xyz_run(self.lon.ravel(), self.lat.ravel(), self.xyz, self.lon.size)

    def time_tile_caps(self):
        self.k.tile_caps(self.lon, self.lat, self.time, False, 13, 5)
