"""Memory of a constructed Client, and proof that help text is built only when asked for.

Worker modes, each in a fresh process:
``rss-httpx``: RSS after ``import httpx``;
``rss-client``: RSS after ``import httpx, synapse_dyn; synapse_dyn.Client('https://x')`` (warm cache);
``docs``: calls into ``synapse_dyn.docs`` during Client construction, then after ``__doc__`` and
``inspect.signature`` of one operation are asked for (showing the counter does count).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from common import rss_bytes


def rss_httpx() -> dict[str, Any]:
    import httpx  # noqa: F401

    return {"rss": rss_bytes()}


def rss_client() -> dict[str, Any]:
    import httpx  # noqa: F401

    import synapse_dyn

    client = synapse_dyn.Client("https://x")
    return {"rss": rss_bytes(), "resources": len(client.registry.resources)}


def docs_calls() -> dict[str, Any]:
    """Profile-hook counts of calls of functions defined in synapse_dyn/docs.py (importing it defines, never builds)."""
    import inspect
    import os

    calls = 0

    def hook(frame: Any, event: str, _arg: Any) -> None:
        nonlocal calls
        code = frame.f_code
        if (event == "call" and code.co_flags & inspect.CO_NEWLOCALS  # a function: not the module or a class body
                and code.co_filename.endswith(os.path.join("synapse_dyn", "docs.py"))):
            calls += 1

    sys.setprofile(hook)
    import synapse_dyn

    client = synapse_dyn.Client("https://x")
    resources = client.registry.resources
    during = calls
    loaded = "synapse_dyn.docs" in sys.modules
    text = client.projects.create.__doc__ or ""
    inspect.signature(client.projects.list)
    sys.setprofile(None)
    return {"during_construction": during, "docs_module_loaded": loaded, "after_help": calls,
            "help_chars": len(text), "resources": len(resources)}


if __name__ == "__main__":
    modes = {"rss-httpx": rss_httpx, "rss-client": rss_client, "docs": docs_calls}
    print(json.dumps(modes[sys.argv[1]]()))
