"""Source readers: turn files (text, Markdown, HTML, JSON, JSON Lines, CSV, WordPress WXR) into ``ArticleDraft``s.

``discover`` expands the paths a user names, ``read_file`` reads one file without ever raising for bad
input, and ``clean_site_chrome`` drops lines repeated across many documents of one source.
"""

from index.sources.discovery import Discovery, discover
from index.sources.formats import FORMATS
from index.sources.origins import origin_file
from index.sources.page_chrome import clean_site_chrome
from index.sources.reader import DEFAULT_MAX_BYTES, FileResult, read_file

__all__ = [
    "DEFAULT_MAX_BYTES",
    "FORMATS",
    "FileResult",
    "Discovery",
    "clean_site_chrome",
    "discover",
    "origin_file",
    "read_file",
]
