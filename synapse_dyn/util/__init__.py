"""Small shared helpers with no dependency on the rest of the package (leaves of the import graph)."""
