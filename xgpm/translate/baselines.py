"""Baseline translations to pseudo-GMI: ``identity`` (no adaptation) and ``quantile_mapping``.

Both are pixel-wise NumPy models (``framework: numpy`` cards) run by
:func:`xgpm.inference.apply_model`; both start from the same **channel correspondence**
(:func:`channel_mapping`), computed from the sensor registry, never written by hand:

1. the source channel of the same polarisation within 15 % of the GMI channel's frequency
   (SSMIS 91V for GMI 89V, 22V for 23V);
2. else the source channel nearest in frequency within 15 %, whatever its polarisation (SSMIS
   150H for GMI 165V, 183H3 for 183V3: at 150-183 GHz the surface barely shows, so the
   polarisation matters little);
3. else the source channel of the same polarisation nearest in frequency (SSMIS 19V for GMI
   10V: SSMIS has no 10 GHz channel; this is a poor stand-in, said so in the cards).

``identity`` copies the corresponding channel: the "no adaptation" floor of the evaluation.
``quantile_mapping`` matches, per GMI channel, the distribution of the corresponding source
channel to GMI's: ``y = F_gmi^-1(F_source(x))`` with the empirical CDFs of the stratum of the
pixel (GPROF's classical correction). Strata: surface (ocean, land, coast from the land mask at
the pixel's lon/lat, as :func:`xgpm.matchups.add_labels` does) x water-vapour class (terciles of
a ~22 GHz water-vapour index, ``TB(22-24 V) - TB(19 V)``, computed from the brightness
temperatures themselves, since 1C files carry no ancillary data; terciles taken per surface
and per sensor, so that both sides of the mapping split their own data at the same
frequencies of occurrence). Beyond the tables' ends the mapping continues with slope 1.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from xgpm import sensors
from xgpm.errors import InvalidArgumentError

__all__ = [
    "GMI_CHANNELS",
    "IdentityTranslation",
    "QuantileMapping",
    "channel_mapping",
    "identity_card",
    "surface_class",
    "water_vapour_channels",
]

#: GMI's 13 channel labels, in 1C order (from the sensor registry).
GMI_CHANNELS: tuple[str, ...] = sensors.get("GMI").labels
_TOLERANCE = 0.15
#: Surface classes of the strata (as matchups.add_labels: 0 ocean, 1 land, 2 coast) + pooled.
N_SURFACES = 3
N_WV_CLASSES = 3
_POOLED = -1


def _unique_labels(sensor: Any) -> list[str]:
    labels: list[str] = []
    for label in sensor.labels:
        if label not in labels:
            labels.append(label)
    return labels


def channel_mapping(source: str) -> dict[str, tuple[str, str]]:
    """The source channel standing for each GMI channel, and the rule that chose it.

    Parameters
    ----------
    source : str
        Registry name of the source sensor (``"SSMIS-F17"``; any platform of an instrument gives
        the same answer).

    Returns
    -------
    dict
        GMI label -> (source label, rule) with rule ``"same polarisation"``,
        ``"other polarisation"`` or ``"nearest frequency"`` (no source channel within 15 %).
    """
    from xgpm import sensors
    from xgpm.errors import UnknownChannelError

    gmi, src = sensors.get("GMI"), sensors.get(source)
    out = {}
    for label in GMI_CHANNELS:
        channel = gmi.channel(label)
        for polarization, tolerance, rule in (
            (channel.polarization, _TOLERANCE, "same polarisation"),
            (None, _TOLERANCE, "other polarisation"),
            (channel.polarization, None, "nearest frequency"),
        ):
            try:
                found = src.find_channel(channel.frequency, polarization, tolerance=tolerance)
            except UnknownChannelError:
                continue
            if channel.offset and found.offset:
                # a double-sideband GMI channel: the source's sideband of the nearest offset
                found = _nearest_offset(src, channel, polarization) or found
            out[label] = (found.label, rule)
            break
    return out


def _nearest_offset(src: Any, channel: Any, polarization: str | None) -> Any:
    candidates = [
        c
        for c in src.channels
        if c.offset
        and abs(np.log(c.frequency / channel.frequency)) < _TOLERANCE
        and (polarization is None or c.polarization[-1] == polarization[-1])
    ]
    if not candidates:
        return None
    return min(candidates, key=lambda c: abs(c.offset - channel.offset))


def water_vapour_channels(sensor: str) -> tuple[str, str]:
    """Labels ``(wv, window)`` of the water-vapour index ``TB(wv) - TB(window)`` of a sensor.

    The V channel nearest 22.235 GHz (the water-vapour line) and the V channel nearest 19 GHz.
    """
    from xgpm import sensors

    s = sensors.get(sensor)
    wv = s.find_channel(22.235, "V", tolerance=0.1)
    window = s.find_channel(18.7, "V", tolerance=0.1)
    return wv.label, window.label


def surface_class(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Surface class per pixel from the land mask: 0 ocean, 1 land, 2 coast, -1 no position.

    The same rule as :func:`xgpm.matchups.add_labels`: land fraction of a ~12 km box < 0.05 is
    ocean, > 0.95 land, coast between.
    """
    from xgpm.simulate.scenes import land_fraction

    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    ok = np.isfinite(lon) & np.isfinite(lat)
    land = land_fraction(np.where(ok, lat, 0.0), np.where(ok, lon, 0.0))
    surface = np.where(land < 0.05, 0, np.where(land > 0.95, 1, 2))
    return np.where(ok, surface, -1).astype(np.float32)


# ------------------------------------------------------------------------------------------
# identity
# ------------------------------------------------------------------------------------------


def identity_card(instrument: str) -> dict[str, Any]:
    """The model card of ``identity-<instrument>`` (lower case), built from the registry.

    Parameters
    ----------
    instrument : str
        Registry sensor name or prefix shared by its platforms (``"SSMIS"``, ``"AMSR2"``,
        ``"TMI"``, ``"SSMI"``).
    """
    from xgpm import sensors

    members = [n for n in sensors.names() if n == instrument or n.startswith(instrument + "-")]
    if not members:
        raise InvalidArgumentError(
            f"identity_card: no registry sensor is {instrument!r} or starts with "
            f"'{instrument}-'; sensors: {sensors.names()}"
        )
    representative = sensors.get(members[0])
    mapping = channel_mapping(representative.name)
    used = [
        lab for lab in _unique_labels(representative) if lab in {m for m, _ in mapping.values()}
    ]
    lines = [f"{g} <- {s} ({rule})" for g, (s, rule) in mapping.items()]
    return {
        "name": f"identity-{instrument.lower()}",
        "task": "to_gmi",
        "method": "identity",
        "version": "1.0.0",
        "description": (
            f"No adaptation: each GMI channel is a copy of the {instrument} channel nearest in "
            "frequency with the same polarisation (within 15 %), else the nearest within 15 % "
            "whatever its polarisation, else the nearest of the same polarisation (GMI channels "
            f"with no {instrument} counterpart, e.g. 10 GHz for SSMIS, are copies of a higher "
            "frequency: a poor stand-in). The floor every translation must beat. Mapping: "
            + "; ".join(lines)
            + "."
        ),
        "framework": "numpy",
        "architecture": {
            "name": "xgpm.translate.baselines:IdentityTranslation",
            "kwargs": {
                "source_channels": used,
                "mapping": {g: s for g, (s, _) in mapping.items()},
            },
        },
        "inputs": {"sensor": instrument, "sampling": "gmi", "channels": list(used)},
        "outputs": [
            {"name": "Tc", "units": "K", "dim": "pmw_frequency", "coords": list(GMI_CHANNELS)}
        ],
        "receptive_margin": 0,
        "divisibility": 1,
        "training_data": "none (no parameters)",
        # The identity has no learned weights: its parameters are this card.
        "weights": f"../cards/identity-{instrument.lower()}.yaml",
    }


class IdentityTranslation:
    """Copy, for each GMI channel, its corresponding source channel (no adaptation).

    Parameters
    ----------
    source_channels : sequence of str
        Source labels in the order of the model's input array.
    mapping : mapping of str to str
        GMI label -> source label, in GMI's channel order (the output order).
    """

    receptive_margin = 0
    divisibility = 1

    def __init__(self, source_channels: Sequence[str], mapping: Mapping[str, str]):
        self.source_channels = tuple(str(c) for c in source_channels)
        self.outputs = tuple(str(g) for g in mapping)
        missing = [s for s in mapping.values() if s not in self.source_channels]
        if missing:
            raise InvalidArgumentError(
                f"IdentityTranslation: mapping uses {missing}, not in source_channels "
                f"{list(self.source_channels)}"
            )
        self.index = np.array([self.source_channels.index(mapping[g]) for g in self.outputs])

    def predict(self, tb: np.ndarray) -> np.ndarray:
        """``(..., n_source)`` brightness temperatures (K) -> ``(..., 13)`` pseudo-GMI (K)."""
        tb = np.asarray(tb)
        if tb.shape[-1] != len(self.source_channels):
            raise InvalidArgumentError(
                f"IdentityTranslation.predict: tb must end with {len(self.source_channels)} "
                f"channels {list(self.source_channels)}, got shape {tb.shape}"
            )
        return tb[..., self.index].astype(np.float32)

    @classmethod
    def load(cls, path: str | os.PathLike) -> IdentityTranslation:
        """Build from a model card (the identity's "weights" file is its card).

        Raises
        ------
        CheckpointError
            The card is not YAML or lacks ``architecture.kwargs`` fit for this class.
        StorageError
            The card is missing or unreadable.
        """
        import yaml

        from xgpm.errors import CheckpointError, StorageError

        path = Path(path)
        remedy = "Write identity cards with xgpm.models.save (see xgpm/models/cards/identity-*)"
        try:
            text = path.read_text()
        except OSError as error:
            raise StorageError(
                f"identity card {path} cannot be read ({error.strerror or error}); check the path"
            ) from error
        try:
            document = yaml.safe_load(text)
            kwargs = document["architecture"]["kwargs"]
            return cls(**kwargs)
        except (yaml.YAMLError, KeyError, TypeError, ValueError) as error:
            raise CheckpointError(
                f"identity card {path} does not describe an identity translation "
                f"({type(error).__name__}: {error}). {remedy}"
            ) from error


# ------------------------------------------------------------------------------------------
# quantile mapping
# ------------------------------------------------------------------------------------------


def _quantiles(values: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    values = values[np.isfinite(values)]
    if values.size == 0:
        return np.full(probabilities.shape, np.nan)
    return np.quantile(values, probabilities)


def _classes(index: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Water-vapour class 0..N-1 of an index given its N-1 edges; -1 where the index is NaN."""
    out = np.searchsorted(edges, index, side="right")
    return np.where(np.isfinite(index), out, _POOLED)


class QuantileMapping:
    """Per-channel CDF matching, stratified by surface and water-vapour class.

    Parameters
    ----------
    source_channels : sequence of str
        Source labels in the order of the input array.
    mapping : mapping of str to str
        GMI label -> source label (:func:`channel_mapping`), in output order.
    source_wv : (str, str)
        Source labels of the water-vapour index ``TB(wv) - TB(window)``.
    gmi_wv : (str, str)
        The same for GMI (used when fitting).
    n_quantiles : int
        Table size (probabilities evenly spaced in [0, 1]).
    min_samples : int
        Strata with fewer pixels use the pooled table of their surface (or of all pixels).
    """

    receptive_margin = 0
    divisibility = 1

    def __init__(
        self,
        source_channels: Sequence[str],
        mapping: Mapping[str, str],
        source_wv: Sequence[str],
        gmi_wv: Sequence[str] = ("23V", "19V"),
        *,
        n_quantiles: int = 201,
        min_samples: int = 2000,
    ):
        self.source_channels = tuple(str(c) for c in source_channels)
        self.outputs = tuple(str(g) for g in mapping)
        self.mapping = {str(g): str(s) for g, s in mapping.items()}
        needed = [*self.mapping.values(), *source_wv]
        missing = [s for s in needed if s not in self.source_channels]
        if missing:
            raise InvalidArgumentError(
                f"QuantileMapping: channels {missing} are not in source_channels "
                f"{list(self.source_channels)}"
            )
        self.source_wv = tuple(str(c) for c in source_wv)
        self.gmi_wv = tuple(str(c) for c in gmi_wv)
        self.index = np.array([self.source_channels.index(self.mapping[g]) for g in self.outputs])
        self.wv_index = np.array([self.source_channels.index(c) for c in self.source_wv])
        self.probabilities = np.linspace(0.0, 1.0, int(n_quantiles))
        self.min_samples = int(min_samples)
        # (surface + pooled, wv class + pooled, output channel, quantile)
        shape = (N_SURFACES + 1, N_WV_CLASSES + 1, len(self.outputs), len(self.probabilities))
        self.source_table = np.full(shape, np.nan)
        self.gmi_table = np.full(shape, np.nan)
        self.source_edges = np.full((N_SURFACES + 1, N_WV_CLASSES - 1), np.nan)
        self.gmi_edges = np.full((N_SURFACES + 1, N_WV_CLASSES - 1), np.nan)
        self.counts = np.zeros((2, N_SURFACES + 1, N_WV_CLASSES + 1), dtype=np.int64)

    @property
    def is_fitted(self) -> bool:
        """Whether the tables hold values."""
        return bool(np.isfinite(self.source_table[_POOLED, _POOLED]).all())

    # -- fitting ---------------------------------------------------------------------------
    def _strata(
        self, wv: np.ndarray, surface: np.ndarray, edges_out: np.ndarray
    ) -> list[tuple[int, int, np.ndarray]]:
        """(surface, wv class, pixel mask) of every stratum, pooled ones included."""
        strata = []
        for s in [*range(N_SURFACES), _POOLED]:
            in_surface = (surface == s) if s != _POOLED else np.isfinite(surface)
            finite = in_surface & np.isfinite(wv)
            if finite.sum() >= N_WV_CLASSES:
                edges_out[s] = np.quantile(wv[finite], np.arange(1, N_WV_CLASSES) / N_WV_CLASSES)
            classes = _classes(wv, edges_out[s]) if np.isfinite(edges_out[s]).all() else None
            for k in [*range(N_WV_CLASSES), _POOLED]:
                if k == _POOLED:
                    strata.append((s, k, in_surface))
                elif classes is not None:
                    strata.append((s, k, in_surface & (classes == k)))
        return strata

    def fit(
        self,
        source_tb: np.ndarray,
        source_surface: np.ndarray,
        gmi_tb: np.ndarray,
        gmi_surface: np.ndarray,
        gmi_channels: Sequence[str] = GMI_CHANNELS,
    ) -> QuantileMapping:
        """Fill the quantile tables from unpaired source and GMI pixels.

        Parameters
        ----------
        source_tb : array (N, n_source)
            Source brightness temperatures (K), columns in ``source_channels`` order.
        source_surface : array (N,)
            Their surface class (0 ocean, 1 land, 2 coast; :func:`surface_class`).
        gmi_tb : array (M, n_gmi)
            GMI brightness temperatures (K), columns in ``gmi_channels`` order.
        gmi_surface : array (M,)
            Their surface class.
        gmi_channels : sequence of str
            Labels of ``gmi_tb``'s columns.

        Returns
        -------
        QuantileMapping
            ``self``.
        """
        source_tb = np.asarray(source_tb, dtype=np.float64)
        gmi_tb = np.asarray(gmi_tb, dtype=np.float64)
        gmi_channels = [str(c) for c in gmi_channels]
        if source_tb.ndim != 2 or source_tb.shape[1] != len(self.source_channels):
            raise InvalidArgumentError(
                f"QuantileMapping.fit: source_tb must be (N, {len(self.source_channels)})"
            )
        missing = [c for c in (*self.outputs, *self.gmi_wv) if c not in gmi_channels]
        if missing or gmi_tb.ndim != 2 or gmi_tb.shape[1] != len(gmi_channels):
            raise InvalidArgumentError(
                f"QuantileMapping.fit: gmi_tb must be (M, {len(gmi_channels)}) with the channels "
                f"{list(self.outputs)}; missing {missing}"
            )
        src_wv = source_tb[:, self.wv_index[0]] - source_tb[:, self.wv_index[1]]
        gmi_wv = (
            gmi_tb[:, gmi_channels.index(self.gmi_wv[0])]
            - gmi_tb[:, gmi_channels.index(self.gmi_wv[1])]
        )
        src_surface = np.asarray(source_surface, dtype=np.float64)
        gmi_surface = np.asarray(gmi_surface, dtype=np.float64)
        src_strata = self._strata(src_wv, src_surface, self.source_edges)
        gmi_strata = self._strata(gmi_wv, gmi_surface, self.gmi_edges)
        gmi_columns = [gmi_channels.index(c) for c in self.outputs]
        for (s, k, mask), (_, _, gmi_mask) in zip(src_strata, gmi_strata, strict=True):
            n_src, n_gmi = int(mask.sum()), int(gmi_mask.sum())
            self.counts[:, s, k] = (n_src, n_gmi)
            if min(n_src, n_gmi) < self.min_samples:
                continue
            for j in range(len(self.outputs)):
                self.source_table[s, k, j] = _quantiles(
                    source_tb[mask, self.index[j]], self.probabilities
                )
                self.gmi_table[s, k, j] = _quantiles(
                    gmi_tb[gmi_mask, gmi_columns[j]], self.probabilities
                )
        # stored as float32: keep the in-memory tables identical to a saved and loaded model
        self.source_table = self.source_table.astype(np.float32).astype(np.float64)
        self.gmi_table = self.gmi_table.astype(np.float32).astype(np.float64)
        if not self.is_fitted:
            raise InvalidArgumentError(
                f"QuantileMapping.fit: fewer than min_samples={self.min_samples} valid pixels "
                "in the source or GMI data"
            )
        return self

    # -- prediction -----------------------------------------------------------------------
    def _table(self, s: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The stratum's tables, falling back to its surface's pooled one, then to all."""
        for ss, kk in ((s, k), (s, _POOLED), (_POOLED, _POOLED)):
            if np.isfinite(self.source_table[ss, kk]).all():
                return self.source_table[ss, kk], self.gmi_table[ss, kk]
        raise InvalidArgumentError("QuantileMapping: not fitted; call fit() first")

    def predict(self, tb: np.ndarray, surface_type: np.ndarray | None = None) -> np.ndarray:
        """``(..., n_source)`` brightness temperatures (K) -> ``(..., 13)`` pseudo-GMI (K).

        Parameters
        ----------
        tb : array (..., n_source)
            Source brightness temperatures in ``source_channels`` order.
        surface_type : array (...), optional
            Surface class per pixel (:func:`surface_class`); None or -1/NaN: pooled tables.
        """
        if not self.is_fitted:
            raise InvalidArgumentError("QuantileMapping.predict: not fitted; call fit() first")
        tb = np.asarray(tb, dtype=np.float64)
        if tb.shape[-1] != len(self.source_channels):
            raise InvalidArgumentError(
                f"QuantileMapping.predict: tb must end with {len(self.source_channels)} "
                f"channels {list(self.source_channels)}, got shape {tb.shape}"
            )
        shape = tb.shape[:-1]
        flat = tb.reshape(-1, tb.shape[-1])
        if surface_type is None:
            surface = np.full(len(flat), _POOLED)
        else:
            surface = np.broadcast_to(np.asarray(surface_type, dtype=np.float64), shape).ravel()
            surface = np.where(np.isin(surface, range(N_SURFACES)), surface, _POOLED).astype(int)
        wv = flat[:, self.wv_index[0]] - flat[:, self.wv_index[1]]
        classes = np.full(len(flat), _POOLED)
        for s in [*range(N_SURFACES), _POOLED]:
            here = surface == s
            if here.any() and np.isfinite(self.source_edges[s]).all():
                classes[here] = _classes(wv[here], self.source_edges[s])
        out = np.full((len(flat), len(self.outputs)), np.nan, dtype=np.float32)
        for s in np.unique(surface):
            for k in np.unique(classes[surface == s]):
                rows = np.flatnonzero((surface == s) & (classes == k))
                src_q, gmi_q = self._table(int(s), int(k))
                for j, column in enumerate(self.index):
                    out[rows, j] = _transfer(flat[rows, column], src_q[j], gmi_q[j])
        return out.reshape(*shape, len(self.outputs))

    # -- persistence ------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path:
        """Write the tables and settings to a compressed ``.npz``."""
        if not self.is_fitted:
            raise InvalidArgumentError("QuantileMapping.save: nothing to save; fit() first")
        path = Path(path)
        with open(path, "wb") as stream:
            np.savez_compressed(
                stream,
                source_channels=np.asarray(self.source_channels),
                outputs=np.asarray(self.outputs),
                mapped=np.asarray([self.mapping[g] for g in self.outputs]),
                source_wv=np.asarray(self.source_wv),
                gmi_wv=np.asarray(self.gmi_wv),
                probabilities=self.probabilities,
                min_samples=np.asarray(self.min_samples),
                source_table=self.source_table.astype(np.float32),
                gmi_table=self.gmi_table.astype(np.float32),
                source_edges=self.source_edges,
                gmi_edges=self.gmi_edges,
                counts=self.counts,
            )
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> QuantileMapping:
        """Read tables written by :meth:`save`.

        The file is read with ``allow_pickle=False``: it holds numeric and string arrays only.

        Parameters
        ----------
        path : path
            The ``.npz`` file.

        Returns
        -------
        QuantileMapping
            The fitted mapping.

        Raises
        ------
        CheckpointError
            The file holds pickled objects (refused unread), lacks an array, or its arrays have
            the wrong shapes (the message names the file and says what to do).
        StorageError
            The file is missing or unreadable.
        """
        from xgpm.errors import CheckpointError
        from xgpm.models import _read_npz

        path = Path(path)
        remedy = (
            "Write quantile-mapping tables with QuantileMapping.save (python -m "
            "xgpm.translate.fit_baselines --save) and load only files you trust to come from it"
        )
        keys = (
            "source_channels",
            "outputs",
            "mapped",
            "source_wv",
            "gmi_wv",
            "probabilities",
            "min_samples",
            "source_table",
            "gmi_table",
            "source_edges",
            "gmi_edges",
            "counts",
        )
        data = _read_npz(path, keys, what="quantile-mapping tables", remedy=remedy)
        try:
            model = cls(
                [str(c) for c in np.atleast_1d(data["source_channels"])],
                dict(
                    zip(
                        map(str, np.atleast_1d(data["outputs"])),
                        map(str, np.atleast_1d(data["mapped"])),
                        strict=True,
                    )
                ),
                [str(c) for c in np.atleast_1d(data["source_wv"])],
                [str(c) for c in np.atleast_1d(data["gmi_wv"])],
                n_quantiles=len(np.atleast_1d(data["probabilities"])),
                min_samples=int(data["min_samples"]),
            )
            tables = {
                "source_table": data["source_table"].astype(np.float64),
                "gmi_table": data["gmi_table"].astype(np.float64),
                "source_edges": data["source_edges"].astype(np.float64),
                "gmi_edges": data["gmi_edges"].astype(np.float64),
                "counts": data["counts"].astype(np.int64),
            }
            for name, values in tables.items():
                expected = getattr(model, name).shape
                if values.shape != expected:
                    raise InvalidArgumentError(
                        f"array {name!r} has shape {values.shape}, expected {expected}"
                    )
                setattr(model, name, values)
        except (ValueError, TypeError, OverflowError) as error:
            raise CheckpointError(
                f"quantile-mapping tables {path} are inconsistent ({error}). {remedy}"
            ) from error
        return model


def _transfer(x: np.ndarray, src_q: np.ndarray, gmi_q: np.ndarray) -> np.ndarray:
    """``F_gmi^-1(F_src(x))`` by linear interpolation; slope 1 beyond the tables' ends."""
    probabilities = np.linspace(0.0, 1.0, len(src_q))
    p = np.interp(x, src_q, probabilities)
    y = np.interp(p, probabilities, gmi_q)
    y = np.where(x < src_q[0], gmi_q[0] + (x - src_q[0]), y)
    y = np.where(x > src_q[-1], gmi_q[-1] + (x - src_q[-1]), y)
    return np.where(np.isfinite(x), y, np.nan)
