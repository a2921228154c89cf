"""The version of xgpm (a floor: any module may read it without importing the package)."""

__version__ = "0.1.0"
