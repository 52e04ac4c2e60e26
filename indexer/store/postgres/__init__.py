"""The PostgreSQL store: passages as tsvectors of Fil's own terms, BM25 in SQL, shards."""
