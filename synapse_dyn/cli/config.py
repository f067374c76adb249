"""The CLI's config file: named profiles (host, tenant, tokens), which one is current, and defaults.

The file is JSON in ``platformdirs.user_config_dir('synapse-dyn')`` (``$SYNAPSE_DYN_CONFIG_DIR``
overrides). It holds secrets, so it is always written with mode 0600 through a temp file
and an atomic rename, and reading a group- or world-readable one produces a warning.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError
from ..util.atomic import write_atomic
from ..util.dirs import user_dir

CONFIG_ENV = "SYNAPSE_DYN_CONFIG_DIR"
CONFIG_FILE = "config.json"
PROFILE_KEYS = ("host", "tenant", "email", "access_token", "access_token_id", "drf_token")
SECRET_KEYS = ("access_token", "drf_token")
DEFAULT_KEYS = {"host": "backend base URL", "tenant": "tenant code", "output": "table, wide, json, yaml or ndjson"}


def config_dir() -> Path:
    return user_dir("config", CONFIG_ENV)


def config_path() -> Path:
    return config_dir() / CONFIG_FILE


def permission_warning(path: Path) -> str | None:
    """A warning when the file is readable or writable by group or others (POSIX only)."""
    if os.name != "posix":
        return None
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None
    if mode & 0o077:
        return f"{path} is accessible by group or others (mode {mode:04o}); it holds tokens: chmod 600 {path}"
    return None


def write_private(path: Path, text: str) -> None:
    """Write text to path with mode 0600, fsync'd and replaced atomically."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_atomic(path, text, mode=0o600, fsync=True)


@dataclass
class Config:
    """Profiles by name and the current profile's name."""

    path: Path
    current: str | None = None
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None = None) -> Config:
        """Read the config (an absent file is an empty config); ConfigurationError when unreadable."""
        path = path or config_path()
        try:
            raw = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls(path)
        except OSError as exc:
            raise ConfigurationError(f"cannot read {path}: {exc.strerror or exc}") from None
        try:
            data = json.loads(raw) if raw.strip() else {}
        except ValueError as exc:
            raise ConfigurationError(f"{path} is not valid JSON ({exc}); fix or delete it") from None
        if not isinstance(data, dict) or not isinstance(data.get("profiles", {}), dict):
            raise ConfigurationError(f"{path} is not a synapse-dyn config (expected an object with 'profiles')")
        profiles = {str(k): dict(v) for k, v in (data.get("profiles") or {}).items() if isinstance(v, dict)}
        defaults = {str(k): str(v) for k, v in (data.get("defaults") or {}).items() if k in DEFAULT_KEYS}
        return cls(path, data.get("current"), profiles, defaults)

    def save(self) -> None:
        payload: dict[str, Any] = {"current": self.current, "profiles": self.profiles}
        if self.defaults:
            payload["defaults"] = self.defaults
        write_private(self.path, json.dumps(payload, indent=2, sort_keys=True) + "\n")

    def active_name(self, explicit: str | None = None) -> str:
        return explicit or self.current or "default"
