"""The search layer: query language, plans, ranking, snippets, and the one search pipeline."""
