"""The regular projected grid of an ODIM_H5 composite (shared by its reader and writer)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["RadarGrid"]


@dataclass(frozen=True)
class RadarGrid:
    """A regular grid in a projection: upper-left corner (m), cell size (m) and size."""

    projdef: str
    x_ul: float
    y_ul: float
    xscale: float
    yscale: float
    xsize: int
    ysize: int

    @property
    def x(self) -> np.ndarray:
        """Cell-centre x coordinates (m), west to east."""
        return self.x_ul + self.xscale * (np.arange(self.xsize) + 0.5)

    @property
    def y(self) -> np.ndarray:
        """Cell-centre y coordinates (m), north to south (first row northernmost)."""
        return self.y_ul - self.yscale * (np.arange(self.ysize) + 0.5)

    def lonlat(self) -> tuple[np.ndarray, np.ndarray]:
        """2-D (lon, lat) of the cell centres, shape (ysize, xsize)."""
        from pyproj import Transformer

        tr = Transformer.from_proj(self.projdef, "EPSG:4326", always_xy=True)
        xx, yy = np.meshgrid(self.x, self.y)
        lon, lat = tr.transform(xx, yy)
        return np.asarray(lon), np.asarray(lat)

    def corners(self) -> dict[str, float]:
        """ODIM corner attributes (outer corners of the grid)."""
        from pyproj import Transformer

        tr = Transformer.from_proj(self.projdef, "EPSG:4326", always_xy=True)
        x0, x1 = self.x_ul, self.x_ul + self.xscale * self.xsize
        y0, y1 = self.y_ul, self.y_ul - self.yscale * self.ysize
        out = {}
        for key, (x, y) in {"UL": (x0, y0), "UR": (x1, y0), "LL": (x0, y1), "LR": (x1, y1)}.items():
            lon, lat = tr.transform(x, y)
            out[f"{key}_lon"], out[f"{key}_lat"] = float(lon), float(lat)
        return out

    def cut(self, lat: float, lon: float, size_km: float) -> RadarGrid:
        """Return a square sub-grid of ``size_km`` centred on (lat, lon), aligned with this grid."""
        from pyproj import Transformer

        tr = Transformer.from_proj("EPSG:4326", self.projdef, always_xy=True)
        xc, yc = tr.transform(lon, lat)
        n = int(round(size_km * 1000.0 / self.xscale))
        col = int(round((xc - self.x_ul) / self.xscale - n / 2))
        row = int(round((self.y_ul - yc) / self.yscale - n / 2))
        return RadarGrid(
            self.projdef,
            self.x_ul + col * self.xscale,
            self.y_ul - row * self.yscale,
            self.xscale,
            self.yscale,
            n,
            n,
        )
