"""``python -m indexer``: the command line (rebuild, stats, search)."""

from .cli import main

main()
