"""What a quote, a citation, a date and an abstention look like: decided once, rendered by two skins.

Pure and free of Discord: ``bot/render.py`` adds Markdown escaping and Discord's limits, ``bot/cli/terminal.py``
adds line wrapping.
"""

from index.present.answers import (
    ABSTENTION,
    NEAREST_HEADING,
    UNTITLED,
    PresentedAnswer,
    QuoteBlock,
    Source,
    cite,
    present_answer,
)
from index.present.text import ELLIPSIS, byline, display_text, format_date, one_line, printable

__all__ = [
    "ABSTENTION",
    "ELLIPSIS",
    "NEAREST_HEADING",
    "PresentedAnswer",
    "QuoteBlock",
    "Source",
    "byline",
    "display_text",
    "format_date",
    "one_line",
    "UNTITLED",
    "cite",
    "present_answer",
    "printable",
]
