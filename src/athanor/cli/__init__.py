"""The ``athanor`` command line: thin commands over the Python API, heavy imports deferred."""
