"""Answers to render, and text that tries to drive a terminal (what an untrusted article may carry)."""

import re

from index.models import Answer, Quote

# Each sequence, and the visible payload it must not leave behind.
ESCAPES = {
    "\x1b]0;pwned\x07": "pwned",  # set the window title
    "\x1b]8;;http://evil.example\x1b\\": "evil",  # start an OSC 8 hyperlink
    "\x1b]52;c;cm0gLXJmIH4=\x07": "cm0gLXJmIH4",  # write the clipboard
    "\x9b31m": "31m",  # C1 CSI: red text
    "\x1b[2J\x1b[H": "2J",  # clear the screen, cursor home
    "\x9d2;title\x9c": "title",  # C1 OSC ... ST
    "\x1bc": "",  # reset the terminal
    "\r\x08\x00\x7f\x85": "",  # carriage return, backspace, NUL, DEL, C1 NEL
}
HOSTILE = "Harbour " + "".join(ESCAPES) + "cranes"
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def controls(text: str) -> list[str]:
    """The control characters in ``text`` other than tab and newline."""
    return CONTROL.findall(text)


def quote(article_id: str, text: str, *, title: str = "Headline", **fields) -> Quote:
    values = {
        "start": 0,
        "end": len(text),
        "url": f"https://news.example/{article_id}",
        "source": "Harbour Times",
        "author": "Ann Lee",
        "published_at": "2023-11-02T08:00:00Z",
        "link": f"https://news.example/{article_id}#:~:text=x",
        "score": 1.0,
    }
    return Quote(text=text, article_id=article_id, title=title, **(values | fields))


# Four quotes from three articles, the second a trimmed clause of an article without a deep link.
CRANES = Answer(
    question="When do the cranes arrive?",
    abstained=False,
    quotes=(
        quote("a", "The cranes arrive in May.", title="Cranes due"),
        quote("b", "unions welcomed the cranes", title="Unions", source="Dock News", author=None, link=None),
        quote("a", "They cost $40m.", title="Cranes due", link="https://news.example/a#:~:text=cost"),
        quote("c", "Work starts soon.", title="Work", published_at=None),
    ),
    as_of="2023-11-02",
)
