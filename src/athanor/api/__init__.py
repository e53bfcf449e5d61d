"""The Python API: the same operations as the CLI, for notebooks and scripts."""
