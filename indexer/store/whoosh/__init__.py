"""The embedded store: Whoosh index model with Fil's numpy codec, in atomic generations."""
