"""Stores: where passages live (embedded Whoosh/numpy index, PostgreSQL), behind one protocol."""
