"""Old home of ``xgpm train scorer``, now :mod:`xgpm.verify.learned.cli`.

Public names re-exported for good; private ones warn (``DeprecationWarning``) for one release.
"""

from __future__ import annotations

from xgpm._deprecated import moved_names
from xgpm.verify.learned.cli import (  # noqa: F401
    add_arguments,
    main,
    run,
    train_from_archive,
)

__all__ = ["add_arguments", "main", "run", "train_from_archive"]

__getattr__ = moved_names(
    __name__,
    {
        "_OPTIONS": "xgpm.verify.learned.cli",
        "_open": "xgpm.verify.learned.cli",
        "_paths": "xgpm.verify.learned.cli",
        "_som_shape": "xgpm.verify.learned.cli",
    },
)


if __name__ == "__main__":
    raise SystemExit(main())
