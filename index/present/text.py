"""How one piece of stored text is shown to a person: without control characters, on one line, with its
trimmed clauses marked, its outlet and author, and its date.

Stored text stays verbatim; these functions only decide what a reader sees. Titles and bodies come from
untrusted files, so every human-readable rendering goes through ``printable`` (or ``one_line``): an
article cannot retitle a terminal, plant an OSC 8 link, write the clipboard (OSC 52) or move the cursor.
"""

from __future__ import annotations

import re
from datetime import datetime

from index.models import Quote

ELLIPSIS = "…"

# Whole terminal escape sequences, so that no payload is left behind as visible text: CSI (ESC [ or the C1
# byte 9B), then OSC/DCS/SOS/PM/APC strings up to their terminator (BEL, ESC \ or ST; bounded to one line, so
# an unterminated one cannot swallow the text after it), then any other two-character escape.
_ESCAPE_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c\n]{0,4096}(?:\x07|\x1b\\|\x9c)"
    r"|\x1b[ -/]*[0-~]"
)
# C0 controls except tab and newline, DEL, and the C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SENTENCE_END = re.compile(r"""[.!?…]["'”’)\]]*$""")


def printable(text: str) -> str:
    """``text`` without terminal escape sequences or control characters (tabs and newlines stay)."""
    return _CONTROL.sub("", _ESCAPE_SEQUENCE.sub("", text))


def one_line(text: str | None) -> str:
    """``printable`` text with every run of whitespace (newlines included) collapsed to one space."""
    return " ".join(printable(text).split()) if text else ""


def display_text(quote: Quote) -> str:
    """The quote as shown between quotation marks, on one line: ``…`` marks where a trimmed sentence goes on."""
    text = one_line(quote.text)
    lead = ELLIPSIS if text[:1].islower() else ""
    tail = ELLIPSIS if text[-1:].isalnum() and not _SENTENCE_END.search(text) else ""
    return f"{lead}{text}{tail}"


def format_date(iso: str | None) -> str | None:
    """``2023-11-12T08:00:00Z`` -> ``12 Nov 2023``; an unparseable date is shown as given (its first 10 chars)."""
    if not iso or not iso.strip():
        return None
    try:
        when = datetime.fromisoformat(iso.strip().replace("Z", "+00:00"))
    except ValueError:
        return one_line(iso)[:10] or None
    return f"{when.day} {when.strftime('%b %Y')}"


def byline(source: str | None, author: str | None) -> str | None:
    """``Outlet / Author``; an author who is the outlet is named once."""
    parts = [part for part in (one_line(source), one_line(author)) if part]
    if len(parts) == 2 and parts[0].casefold() == parts[1].casefold():
        parts = parts[:1]
    return " / ".join(parts) or None
