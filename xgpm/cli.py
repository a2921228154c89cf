"""The ``xgpm`` command line: one sub-command per capability.

Each sub-command lives next to the code it drives and exposes ``add_parser(subparsers)`` and
``run(args)``; this module only lists them, so ``xgpm --help`` imports nothing heavy.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# sub-command -> module with add_parser(subparsers) and run(args)
COMMANDS: dict[str, str] = {
    "info": "xgpm.cli",
    "simulate": "xgpm.simulate.cli",
    "matchups": "xgpm.matchups_cli",
    "train": "xgpm.models.cli",
    "demo": "xgpm.demo",
    "process": "xgpm.process.cli",
    "evaluate": "xgpm.translate.evaluate_cli",
}


def _add_info_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("info", help="describe a PPS granule (product, scan modes)")
    parser.add_argument("granule", help="path or URL of a PPS HDF5 granule")
    return parser


def _run_info(args: argparse.Namespace) -> int:
    import xgpm

    tree = xgpm.open_granule(args.granule, scan_mode="all")
    print(f"{tree.attrs['gpm_api_product']}  {tree.attrs.get('FileName', '')}")
    for mode, node in tree.children.items():
        ds = node.to_dataset()
        sizes = ", ".join(f"{k}={v}" for k, v in ds.sizes.items())
        print(f"  {mode}: {sizes}")
        if "pmw_frequency" in ds.coords:
            print(f"      channels: {' '.join(map(str, ds['pmw_frequency'].values))}")
    return 0


def add_parser(subparsers) -> argparse.ArgumentParser:  # for COMMANDS["info"]
    """Register ``xgpm info``."""
    return _add_info_parser(subparsers)


def run(args: argparse.Namespace) -> int:  # for COMMANDS["info"]
    """Run ``xgpm info``."""
    return _run_info(args)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every sub-command registered."""
    from xgpm import __version__

    parser = argparse.ArgumentParser(
        prog="xgpm",
        description="The GPM constellation as if every satellite carried GMI.",
    )
    parser.add_argument("--version", action="version", version=f"xgpm {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMANDS.values():
        module = importlib.import_module(module_name)
        sub = module.add_parser(subparsers)
        sub.set_defaults(_command_module=module_name)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``xgpm`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 1
    from xgpm.errors import XGPMError

    module = importlib.import_module(args._command_module)
    try:
        return int(module.run(args) or 0)
    except XGPMError as err:
        print(f"xgpm {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
