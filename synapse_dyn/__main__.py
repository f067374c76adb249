"""``python -m synapse_dyn``: the same as the ``synapse-dyn`` console script."""

from __future__ import annotations

from .cli import main

if __name__ == "__main__":
    main()
