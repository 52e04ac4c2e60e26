"""French analysis: the token chain shared by indexing, queries and highlighting."""

from ..ingest.folding import author_key, fold
from ..ingest.text import normalize_key, normalize_text
from .french import (
    APOSTROPHES,
    ARTICLES,
    CHUNK_RE,
    PROTECTED,
    STOPWORDS,
    TOKEN_RE,
    CompoundFilter,
    ElisionFilter,
    FoldFilter,
    FormatFilter,
    FrenchAnalyzer,
    InflectionFilter,
    KeywordFilter,
    LowercaseFilter,
    StemFilter,
    StopFilter,
    WordTokenizer,
    analyzer,
    french_chain,
    light_inflection,
    word_filters,
)

__all__ = [
    "APOSTROPHES", "ARTICLES", "CHUNK_RE", "PROTECTED", "STOPWORDS", "TOKEN_RE", "CompoundFilter",
    "ElisionFilter", "FoldFilter", "FormatFilter", "FrenchAnalyzer", "InflectionFilter",
    "KeywordFilter", "LowercaseFilter", "StemFilter", "StopFilter", "WordTokenizer", "analyzer",
    "author_key", "fold", "french_chain", "light_inflection", "normalize_key", "normalize_text",
    "word_filters",
]
