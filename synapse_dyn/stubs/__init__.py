"""Typing stubs built from the registry: the typed surface editors and type checkers read.

Stubs are typing data: ``.pyi`` files that are never imported at run time. The bundled v2 and v1
schemas' stubs ship in ``synapse_dyn/typed/``; ``synapse-dyn stubs --out DIR`` writes a stub-only
package (``DIR/synapse_dyn-stubs``) for any other schema.
"""

from __future__ import annotations

from .package import bundled_files, generate, write_package

__all__ = ["bundled_files", "generate", "write_package"]
