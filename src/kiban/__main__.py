"""``python -m kiban``: the same as the ``kiban`` command."""

from kiban.cli import main

main()
