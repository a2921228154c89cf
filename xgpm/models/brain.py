"""BRAIN-like Bayesian database retrieval: the classic baseline every neural retrieval must beat.

BRAIN (Viltard et al. 2006) and GPROF retrieve rain from a database of (brightness temperature
vector ``y_i``, rain ``R_i``) pairs. Given an observation ``y``, each entry is weighted by its
likelihood ``w_i = exp(-0.5 (y - y_i)^T S^-1 (y - y_i))``, with ``S`` the observation + model
error covariance (diagonal here: one sigma per channel), and the retrieval is the posterior
mean ``sum_i R_i w_i / sum_i w_i``. xgpm also returns the posterior probability of
precipitation ``P(R >= 0.1 mm/h)`` and posterior quantiles from the weighted CDF.

Efficiency: TBs are scaled by ``1 / sigma``, so the exponent is ``-0.5 d^2`` with ``d`` the
Euclidean distance in scaled space, and a :class:`scipy.spatial.cKDTree` returns each pixel's
``n_neighbours`` nearest entries in one vectorised query. The posterior sums over those entries
only, leaving out any whose weight is below ``exp(-0.5 search_radius**2)`` times the nearest
entry's (``3e-4`` for 4 sigma). This is the approximation: with ``n_neighbours`` at least the
database size the posterior is exact; with fewer, entries beyond the ``n_neighbours``-th nearest
are dropped (in dense parts of the database, such as clear-sky ocean, their rain is that of the
neighbours kept). Weights are computed relative to the nearest entry
(``exp(-0.5 (d_i^2 - d_min^2))``), which leaves the posterior unchanged and never underflows to
0/0, so a pixel far from every entry still gets the posterior of its nearest entries rather than
NaN.

With ``surface_type`` given at fit and predict time, each pixel searches only the entries of
its own surface type (a pixel whose type is absent from the database searches all entries).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

from xgpm.errors import CheckpointError, InvalidArgumentError

__all__ = ["BrainRetrieval", "DEFAULT_QUANTILES"]

DEFAULT_QUANTILES: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)
_ALL = -1  # stratum key of the whole database


class BrainRetrieval:
    """Bayesian database retrieval of surface rain (posterior mean, PoP, quantiles).

    Parameters
    ----------
    sigma : sequence of float
        Per-channel standard deviation (K) of observation + model error: the square roots of
        the diagonal of ``S``.
    quantiles : sequence of float
        Probabilities of the posterior quantiles returned by :meth:`predict`.
    n_neighbours : int
        Database entries used per pixel (the nearest ones, in sigma units).
    search_radius : float
        Entries further than this many sigmas beyond the nearest one (in scaled distance:
        ``d^2 - d_min^2 > search_radius^2``) are left out of the posterior.
    rain_threshold : float
        Threshold (mm/h) of the probability of precipitation.
    chunk_size : int
        Pixels per kd-tree query (bounds the memory of the neighbour arrays).

    Examples
    --------
    >>> import numpy as np
    >>> tb = np.array([[250.0, 200.0], [240.0, 190.0], [270.0, 230.0]])
    >>> rain = np.array([1.0, 4.0, 0.0])
    >>> brain = BrainRetrieval(sigma=[5.0, 5.0]).fit(tb, rain)
    >>> out = brain.predict(np.array([[245.0, 195.0]]))
    >>> bool(1.0 < out[0, 0] < 4.0)  # between the two nearest entries
    True
    """

    #: Pixel-wise model: no spatial context, no size constraint (read by the inference engine).
    receptive_margin = 0
    divisibility = 1

    def __init__(
        self,
        sigma: Sequence[float],
        *,
        quantiles: Sequence[float] = DEFAULT_QUANTILES,
        n_neighbours: int = 100,
        search_radius: float = 4.0,
        rain_threshold: float = 0.1,
        chunk_size: int = 65536,
    ):
        self.sigma = np.asarray(sigma, dtype=np.float64)
        if self.sigma.ndim != 1 or self.sigma.size == 0 or not np.all(self.sigma > 0):
            raise InvalidArgumentError(
                f"BrainRetrieval: sigma must be > 0 per channel, got {sigma}"
            )
        self.quantiles = tuple(float(q) for q in quantiles)
        if any(not 0.0 < q < 1.0 for q in self.quantiles):
            raise InvalidArgumentError(
                f"BrainRetrieval: quantiles must be in (0, 1), got {quantiles}"
            )
        if n_neighbours < 1 or search_radius <= 0:
            raise InvalidArgumentError("BrainRetrieval: n_neighbours >= 1 and search_radius > 0")
        self.n_neighbours = int(n_neighbours)
        self.search_radius = float(search_radius)
        self.rain_threshold = float(rain_threshold)
        self.chunk_size = int(chunk_size)
        self.tb: np.ndarray | None = None
        self.rain: np.ndarray | None = None
        self.surface_type: np.ndarray | None = None
        self._trees: dict[int, tuple[cKDTree, np.ndarray]] = {}

    # -- geometry / metadata ---------------------------------------------------------------
    @property
    def n_channels(self) -> int:
        """Number of channels (length of ``sigma``)."""
        return int(self.sigma.size)

    @property
    def n_outputs(self) -> int:
        """Columns of :meth:`predict`'s output: mean, probability, then the quantiles."""
        return 2 + len(self.quantiles)

    @property
    def is_fitted(self) -> bool:
        """Whether a database is stored."""
        return self.tb is not None

    # -- fitting -----------------------------------------------------------------------------
    def fit(
        self,
        tb: np.ndarray,
        rain: np.ndarray,
        surface_type: np.ndarray | None = None,
    ) -> BrainRetrieval:
        """Store the database (rows with a NaN TB or rain are dropped) and build the kd-trees.

        Parameters
        ----------
        tb : array (N, C)
            Brightness temperatures (K) of the database entries.
        rain : array (N,)
            Their rain rates (mm/h).
        surface_type : array (N,) of int, optional
            Surface class of each entry, to stratify the search.

        Returns
        -------
        BrainRetrieval
            ``self``.
        """
        tb = np.asarray(tb, dtype=np.float64)
        rain = np.asarray(rain, dtype=np.float64)
        if tb.ndim != 2 or tb.shape[1] != self.n_channels or rain.shape != tb.shape[:1]:
            raise InvalidArgumentError(
                f"BrainRetrieval.fit: tb must be (N, {self.n_channels}) and rain (N,); got "
                f"{tb.shape} and {rain.shape}"
            )
        keep = np.isfinite(tb).all(axis=1) & np.isfinite(rain)
        if surface_type is not None:
            surface_type = np.asarray(surface_type)
            if surface_type.shape != rain.shape:
                raise InvalidArgumentError(
                    f"BrainRetrieval.fit: surface_type must be (N,) = {rain.shape}, got "
                    f"{surface_type.shape}"
                )
            surface_type = surface_type.astype(np.int64)[keep]
        if not keep.any():
            raise InvalidArgumentError("BrainRetrieval.fit: no database entry is finite")
        self.tb, self.rain, self.surface_type = tb[keep], rain[keep], surface_type
        self._build_trees()
        return self

    def _build_trees(self) -> None:
        scaled = self.tb / self.sigma
        self._trees = {_ALL: (cKDTree(scaled), np.arange(len(scaled)))}
        if self.surface_type is not None:
            for kind in np.unique(self.surface_type):
                rows = np.flatnonzero(self.surface_type == kind)
                self._trees[int(kind)] = (cKDTree(scaled[rows]), rows)

    # -- retrieval ---------------------------------------------------------------------------
    def _neighbours(self, tree: cKDTree, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Distances (inf where left out) and indices of each point's candidate entries."""
        k = min(self.n_neighbours, tree.n)
        distance, index = tree.query(points, k=k)
        distance = distance.reshape(len(points), k)
        index = index.reshape(len(points), k)
        d2 = distance**2
        negligible = d2 - d2[:, :1] > self.search_radius**2
        distance[negligible] = np.inf
        return distance, index

    def _posterior(self, distance: np.ndarray, rain: np.ndarray) -> np.ndarray:
        """Posterior mean, PoP and quantiles from (P, K) distances and candidate rains."""
        valid = np.isfinite(distance)
        d2 = np.where(valid, distance, np.inf) ** 2
        weight = np.exp(-0.5 * (d2 - d2[:, :1]))  # relative to the nearest: no underflow
        weight[~valid] = 0.0
        rain = np.where(valid, rain, 0.0)
        total = weight.sum(axis=1)
        out = np.empty((len(distance), self.n_outputs), dtype=np.float64)
        out[:, 0] = (weight * rain).sum(axis=1) / total
        out[:, 1] = (weight * (rain >= self.rain_threshold)).sum(axis=1) / total
        if self.quantiles:
            order = np.argsort(np.where(valid, rain, np.inf), axis=1, kind="stable")
            sorted_rain = np.take_along_axis(rain, order, axis=1)
            cdf = np.cumsum(np.take_along_axis(weight, order, axis=1), axis=1) / total[:, None]
            for j, q in enumerate(self.quantiles):
                # smallest R with weighted CDF >= q (1e-12 guards round-off at the steps)
                position = (cdf < q - 1e-12).sum(axis=1)
                position = np.minimum(position, valid.sum(axis=1) - 1)
                out[:, 2 + j] = np.take_along_axis(sorted_rain, position[:, None], axis=1)[:, 0]
        return out

    def predict(self, tb: np.ndarray, surface_type: np.ndarray | None = None) -> np.ndarray:
        """Posterior rain statistics of each pixel.

        Parameters
        ----------
        tb : array (..., C)
            Brightness temperatures (K). Pixels with a NaN channel get NaN outputs.
        surface_type : array (...), optional
            Surface class per pixel (ignored if the database was fitted without one).

        Returns
        -------
        array (..., 2 + Q), float32
            Posterior mean rain (mm/h), probability of rain >= ``rain_threshold``, then the
            posterior quantiles (mm/h).
        """
        if not self.is_fitted:
            raise InvalidArgumentError(
                "BrainRetrieval.predict: the database is empty; call fit(tb, rain) first"
            )
        tb = np.asarray(tb, dtype=np.float64)
        if tb.shape[-1] != self.n_channels:
            raise InvalidArgumentError(
                f"BrainRetrieval.predict: tb must end with {self.n_channels} channels, got "
                f"shape {tb.shape}"
            )
        shape = tb.shape[:-1]
        flat = tb.reshape(-1, self.n_channels)
        out = np.full((len(flat), self.n_outputs), np.nan, dtype=np.float32)
        good = np.isfinite(flat).all(axis=1)
        if surface_type is not None and self.surface_type is not None:
            kinds = np.broadcast_to(np.asarray(surface_type), shape).reshape(-1)
            kinds = np.where(np.isfinite(kinds), kinds, _ALL).astype(np.int64)
            kinds = np.where(np.isin(kinds, list(self._trees)), kinds, _ALL)
        else:
            kinds = np.full(len(flat), _ALL, dtype=np.int64)
        scaled = flat / self.sigma
        for kind in np.unique(kinds[good]):
            tree, rows = self._trees[int(kind)]
            pixels = np.flatnonzero(good & (kinds == kind))
            for start in range(0, len(pixels), self.chunk_size):
                chunk = pixels[start : start + self.chunk_size]
                distance, index = self._neighbours(tree, scaled[chunk])
                candidate = self.rain[rows[np.minimum(index, len(rows) - 1)]]
                out[chunk] = self._posterior(distance, candidate)
        return out.reshape(*shape, self.n_outputs)

    # -- persistence ---------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path:
        """Write the database and settings to a compressed ``.npz``."""
        if not self.is_fitted:
            raise InvalidArgumentError("BrainRetrieval.save: nothing to save; fit() first")
        path = Path(path)
        arrays = {
            "tb": self.tb.astype(np.float32),
            "rain": self.rain.astype(np.float32),
            "sigma": self.sigma,
            "quantiles": np.asarray(self.quantiles, dtype=np.float64),
            "settings": np.asarray(
                [self.n_neighbours, self.search_radius, self.rain_threshold, self.chunk_size]
            ),
        }
        if self.surface_type is not None:
            arrays["surface_type"] = self.surface_type.astype(np.int16)
        with open(path, "wb") as stream:
            np.savez_compressed(stream, **arrays)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> BrainRetrieval:
        """Read a database written by :meth:`save`.

        The file is read with ``allow_pickle=False``: it holds numeric arrays only.

        Parameters
        ----------
        path : path
            The ``.npz`` file.

        Returns
        -------
        BrainRetrieval
            The fitted model.

        Raises
        ------
        CheckpointError
            The file holds pickled objects (refused unread), lacks an array, or its arrays are
            inconsistent (the message names the file and says what to do).
        StorageError
            The file is missing or unreadable.
        """
        from xgpm.models import _read_npz

        path = Path(path)
        remedy = (
            "Write BRAIN databases with BrainRetrieval.save (or `xgpm train brain --matchups "
            "ZARR`) and load only files you trust to come from it"
        )
        data = _read_npz(
            path,
            ("tb", "rain", "sigma", "quantiles", "settings"),
            what="BRAIN database",
            remedy=remedy,
        )
        try:
            settings = np.asarray(data["settings"], dtype=np.float64)
            if settings.shape != (4,):
                raise InvalidArgumentError(f"'settings' must hold 4 numbers, got {settings.shape}")
            n_neighbours, search_radius, rain_threshold, chunk_size = settings
            model = cls(
                np.asarray(data["sigma"], dtype=np.float64),
                quantiles=tuple(np.asarray(data["quantiles"], dtype=np.float64).ravel()),
                n_neighbours=int(n_neighbours),
                search_radius=float(search_radius),
                rain_threshold=float(rain_threshold),
                chunk_size=max(int(chunk_size), 1),
            )
            return model.fit(data["tb"], data["rain"], data.get("surface_type"))
        except (InvalidArgumentError, ValueError, TypeError, OverflowError) as error:
            raise CheckpointError(
                f"BRAIN database {path} holds inconsistent arrays ({error}). {remedy}"
            ) from error
