"""Regenerate the shipped ``identity-*`` cards from the registry.

Run ``python -m xgpm.translate._cards`` after a registry change.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from xgpm.translate.baselines import identity_card

#: Instruments with a shipped identity card.
IDENTITY_INSTRUMENTS = ("SSMIS", "SSMI", "AMSR2", "AMSRE", "TMI")
CARDS = Path(__file__).resolve().parents[1] / "models" / "cards"


def write_identity_cards(directory: Path = CARDS) -> list[Path]:
    """Write ``identity-<instrument>.yaml`` for every :data:`IDENTITY_INSTRUMENTS`."""
    paths = []
    for instrument in IDENTITY_INSTRUMENTS:
        card = identity_card(instrument)
        path = Path(directory) / f"{card['name']}.yaml"
        path.write_text(yaml.safe_dump(card, sort_keys=False))
        paths.append(path)
    return paths


if __name__ == "__main__":
    for written in write_identity_cards():
        print(written)
