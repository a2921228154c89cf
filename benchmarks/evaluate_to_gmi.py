"""Evaluate every to_gmi translation model on held-out paired simulated scenes (one command).

    python benchmarks/evaluate_to_gmi.py [--cache /tmp/xgpm-to-gmi/cache] [--days 1]

Simulates the held-out windows once (cached under --cache: a re-run only evaluates models whose
card or weights changed), then writes docs/models/to_gmi.md and docs/images/to_gmi_*.png. Same
as ``xgpm evaluate to-gmi``. Not an asv benchmark (no ``bench_`` prefix).
"""

from __future__ import annotations

import argparse
import sys

from xgpm.translate.evaluate_cli import add_arguments, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    return run(
        args, command="python benchmarks/evaluate_to_gmi.py " + " ".join(argv or sys.argv[1:])
    )


if __name__ == "__main__":
    raise SystemExit(main())
