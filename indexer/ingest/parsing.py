"""Thread files into :class:`Thread` values: the ingest API in one import.

The work is split by job: :mod:`.sources` (which files), :mod:`.decoding` (bytes into
clean text lines), :mod:`.txt` and :mod:`.jsonrec` (the formats), :mod:`.dates`,
:mod:`.record` (what the formats share), :mod:`.mojibake` and :mod:`.markup` (repairs),
:mod:`.reader` (streaming threads into a :class:`ReadReport`). No index code here.
"""

from __future__ import annotations

from .dates import CANONICAL_DATE_RE, ISO_DATE_RE, parse_date
from .decoding import MAX_LINE_BYTES, decode_lines
from .jsonrec import parse_jsonl, thread_from_json
from .reader import ReadResult, iter_data_threads, iter_threads, read_file, read_sources
from .record import MAX_ID_CHARS, default_title, resolve_replies
from .report import Fault, FileReport, ReadReport, Skipped
from .sources import SourceFile, SourcePlan, file_format, plan_sources
from .txt import SIGNATURE_RE, first_comment_start, parse_txt, split_lines

__all__ = [
    "CANONICAL_DATE_RE", "ISO_DATE_RE", "MAX_ID_CHARS", "MAX_LINE_BYTES", "SIGNATURE_RE",
    "Fault", "FileReport", "ReadReport", "ReadResult", "Skipped", "SourceFile", "SourcePlan",
    "decode_lines", "default_title", "file_format", "first_comment_start", "iter_data_threads",
    "iter_threads",
    "parse_date", "parse_jsonl", "parse_txt", "plan_sources", "read_file", "read_sources",
    "resolve_replies", "split_lines", "thread_from_json",
]
