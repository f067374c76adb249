"""Typing stubs of the client built from the bundled schemas: ``api`` (v2), ``v1``, and ``base`` (Record,
Page, the pagers, the clients' schema-independent methods).

Never imported at run time (there is no ``.py`` here): ``synapse_dyn/__init__.py`` imports these names only
for type checkers. Regenerate with ``synapse-dyn stubs --bundled``.
"""
