"""PVL text blocks of PPS HDF5 attributes (``key=value;`` lines)."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["parse_pvl", "format_pvl"]


def parse_pvl(text: str | bytes, *, strip: bool = True) -> dict[str, str]:
    r"""Parse a PPS PVL attribute block into an ordered ``{key: value}`` dict.

    Parameters
    ----------
    text : str or bytes
        The attribute value, e.g. ``b"DOI=10.5067/GPM/GMI/GPM/1C/07;\\nGranuleNumber=000079;\\n"``.

    strip : bool
        Strip blanks around values (some PPS values carry trailing blanks; keep them with
        ``strip=False`` to write the block back byte for byte).

    Returns
    -------
    dict
        Keys in file order, values as strings (never converted to numbers).

    Examples
    --------
    >>> parse_pvl(b"NumberPixels=221;\\nScanType=CONICAL;\\n")
    {'NumberPixels': '221', 'ScanType': 'CONICAL'}
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    out: dict[str, str] = {}
    for raw in text.split(";\n"):
        line = raw.strip()
        if not line or "=" not in line:
            continue
        if not strip:
            line = raw.lstrip("\n")
        key, value = line.split("=", 1)
        value = value[:-1] if value.endswith(";") else value
        out[key.strip()] = value.strip() if strip else value
    return out


def format_pvl(items: Mapping[str, object]) -> bytes:
    r"""Format ``{key: value}`` as a PVL block, the inverse of :func:`parse_pvl`.

    Examples
    --------
    >>> format_pvl({"NumberPixels": 221, "ScanType": "CONICAL"})
    b'NumberPixels=221;\\nScanType=CONICAL;\\n'
    """
    return "".join(f"{key}={value};\n" for key, value in items.items()).encode("utf-8")
