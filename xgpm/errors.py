"""The xgpm exception hierarchy.

Every error raised on purpose by xgpm derives from :class:`XGPMError`, so a caller can catch
all of them at once. Each subclass also derives from the closest built-in exception
(``ValueError``, ``KeyError``, ``OSError`` ...) so existing ``except`` clauses keep working.
Messages name the file or argument at fault and say what to do about it.
"""

from __future__ import annotations

__all__ = [
    "XGPMError",
    "XGPMWarning",
    "InvalidArgumentError",
    "UnknownSensorError",
    "UnknownChannelError",
    "UnknownProductError",
    "GranuleError",
    "NotHDF5Error",
    "CorruptGranuleError",
    "WrongProductError",
    "MissingVariableError",
    "EmptyGranuleError",
    "FileNameMismatchError",
    "WriteError",
    "MissingChannelsError",
    "ModelNotFoundError",
    "NoOverlapError",
    "NoValidPairsError",
    "RegistryError",
    "StorageError",
    "NoSuchFileError",
    "StoreLockedError",
    "RunFailedError",
    "CheckpointError",
    "InvalidDataError",
    "ProjectionError",
    "RadarFileError",
    "DataQualityWarning",
]


class XGPMError(Exception):
    """Base class of every error raised by xgpm."""


class XGPMWarning(UserWarning):
    """Base class of every warning emitted by xgpm."""


class InvalidArgumentError(XGPMError, ValueError):
    """An argument has a value xgpm cannot use."""


class UnknownSensorError(XGPMError, KeyError):
    """A sensor name is not in the sensor registry."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class UnknownChannelError(XGPMError, KeyError):
    """A channel label or frequency/polarisation has no match for a sensor."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class UnknownProductError(XGPMError, KeyError):
    """A product name or PPS file name is not in the product registry."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class GranuleError(XGPMError, OSError):
    """A granule file cannot be read as the product it claims to be."""


class NotHDF5Error(GranuleError):
    """The file is not HDF5 at all (wrong format, empty, or truncated before its superblock)."""


class CorruptGranuleError(GranuleError):
    """The file is HDF5 but truncated or damaged: a dataset cannot be read."""


class WrongProductError(GranuleError):
    """The file holds another product than the one requested."""


class MissingVariableError(GranuleError, KeyError):
    """A group, dataset or scan mode the product needs is absent from the file."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class EmptyGranuleError(GranuleError):
    """The granule's FileHeader says ``EmptyGranule=EMPTY``: it holds no data."""


class FileNameMismatchError(GranuleError):
    """The PPS file name disagrees with the file's own FileHeader."""


class WriteError(XGPMError, ValueError):
    """A Dataset cannot be written as the requested product."""


class MissingChannelsError(XGPMError, ValueError):
    """The input lacks channels a model or method needs."""


class ModelNotFoundError(XGPMError, KeyError):
    """No registered model has that name (or fits that sensor)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class NoOverlapError(XGPMError, ValueError):
    """Two datasets share no pixels in space or time."""


class NoValidPairsError(XGPMError, ValueError):
    """A score was requested over data that holds no valid (finite, unmasked) pair at all."""


class RegistryError(XGPMError, ValueError):
    """A registry data file shipped with xgpm (e.g. ``xgpm/etc/sensors.yaml``) is invalid."""


class StorageError(XGPMError, OSError):
    """A path or URL cannot be listed, read or written.

    Missing, a directory where a file is expected, no permission, a full disk, or an
    unreachable object store.
    """


class NoSuchFileError(StorageError, FileNotFoundError):
    """A file, object or folder the caller named does not exist."""


class StoreLockedError(XGPMError, RuntimeError):
    """Another ``process`` run holds the lease on an output store."""


class RunFailedError(XGPMError, RuntimeError):
    """A run started with valid arguments but could not finish (the CLI exits 1, not 2)."""


class CheckpointError(XGPMError, ValueError):
    """A model checkpoint or weights file cannot be loaded safely (unsafe, damaged or foreign)."""


class InvalidDataError(XGPMError, ValueError):
    """Input data values are physically implausible (e.g. brightness temperatures in Celsius)."""


class ProjectionError(XGPMError, ValueError):
    """A map projection definition cannot be understood (e.g. a bad PROJ string in a file)."""


class RadarFileError(GranuleError):
    """A radar file (ODIM_H5 composite or polar volume) cannot be read as such."""


class DataQualityWarning(XGPMWarning):
    """Data were read or used, but something in them was set aside.

    Impossible geolocation, duplicate granules ...: the message says how much and why.
    """
