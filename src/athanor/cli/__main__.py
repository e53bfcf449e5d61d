"""``python -m athanor.cli``: the same as the ``athanor`` command."""

from athanor.cli.main import main

main()
