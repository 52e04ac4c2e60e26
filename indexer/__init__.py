"""Fil's library: French thread search, in layers that import one way.

ingest (thread files) → analysis (the French chain) → search (query, plan, ranking,
snippets, the one pipeline) → store (embedded, PostgreSQL) → service (the front door);
the command line (:mod:`indexer.cli`) and the web app (:mod:`search_app`) sit on top.
"""
