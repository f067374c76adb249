"""The user's directories for this package (config, data, cache): an environment variable, else platformdirs."""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "synapse-dyn"


def user_dir(kind: str, env: str | None = None) -> Path:
    """``$env`` when set, else platformdirs' user ``kind`` directory (``config``, ``data`` or ``cache``)."""
    given = os.environ.get(env) if env else None
    if given:
        return Path(given)
    import platformdirs  # imported only when no variable names the directory

    return Path(getattr(platformdirs, f"user_{kind}_dir")(APP_NAME, appauthor=False))
