"""Reading thread files into threads: decoding, formats, dates, sources (no index code)."""
