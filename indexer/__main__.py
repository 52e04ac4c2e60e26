"""``python -m indexer``: the command line (rebuild, update, delete, optimize, stats, search)."""

from .cli import main

main()
