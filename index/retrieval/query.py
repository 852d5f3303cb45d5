"""Query understanding without a language model.

``parse_query`` reads what a question says about *which* articles it wants, besides its
topic: named outlets ("according to TechCrunch", "a Fortune article"), authors
("by Kyle Wiggers"), sections ("technology news"), publication dates ("published on
October 19, 2023", "in October 2023", "2023-10-19") and relative times ("last week",
"yesterday", "the latest"). The archive's own vocabulary of sources, authors and
categories is passed in as a ``Catalog`` so that only names the archive knows are
recognised. The result is a ``QueryIntent``: retrieval turns it into preferences
(score boosts) rather than hard filters, because a question naming two outlets wants
both and a date in a question is often approximate.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

_WORD = re.compile(r"[^\W_]+")
_SEPARATORS = re.compile(r"\s+(?:-|\||–|—)\s+|:\s+")
_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_MONTHS["sept"] = 9
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))
_ORDINAL = r"(\d{1,2})(?:st|nd|rd|th)?"

_MONTH_DAY_YEAR = re.compile(rf"\b({_MONTH_RE})\.?\s+{_ORDINAL},?\s+(\d{{4}})\b", re.IGNORECASE)
_DAY_MONTH_YEAR = re.compile(rf"\b{_ORDINAL}\s+(?:of\s+)?({_MONTH_RE})\.?,?\s+(\d{{4}})\b", re.IGNORECASE)
_MONTH_YEAR = re.compile(rf"\b({_MONTH_RE})\.?,?\s+(?:of\s+)?(\d{{4}})\b", re.IGNORECASE)
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_YEAR = re.compile(r"\b(?:in|during|from|of|since)\s+((?:19|20)\d{2})\b", re.IGNORECASE)

_RELATIVE = re.compile(
    r"\b(today|yesterday|(?:this|last|past|previous) (?:week|month|year)|(?:last|past) (?:few|couple of|\d+) days)\b",
    re.IGNORECASE,
)
# Words that make retrieval favour the newest articles. Quote selection reads a slightly different list
# (``index.question``); merging them changes which passages some questions retrieve, so it waits for a re-fit.
_RECENCY = re.compile(r"\b(latest|most recent|newest|recently|lately|current|these days|right now)\b", re.IGNORECASE)
_SECTION_NOUNS = r"(?:news|articles?|stories|story|section|category|coverage|reporting|pages?)"


@dataclass(frozen=True)
class DateRange:
    """Inclusive range of publication days a question points at."""

    first: date
    last: date

    def contains(self, day: date, *, slack_days: int = 0) -> bool:
        return self.first - timedelta(days=slack_days) <= day <= self.last + timedelta(days=slack_days)


@dataclass(frozen=True)
class QueryIntent:
    """What a question asks of the articles' metadata, beside its topic words."""

    text: str
    sources: frozenset[str] = frozenset()
    authors: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    dates: tuple[DateRange, ...] = ()
    prefers_recent: bool = False
    source_mentions: tuple[frozenset[str], ...] = ()  # one set of sources per outlet named, in order


class Catalog:
    """The archive's sources, authors and categories, compiled into matchers for questions."""

    def __init__(self, sources: Iterable[str], authors: Iterable[str] = (), categories: Iterable[str] = ()) -> None:
        self._source_names = {s for s in sources if s and s.strip()}
        self._sources = _AliasTable(_source_aliases(s) for s in self._source_names)
        self._authors = _AliasTable(_author_aliases(a) for a in {a for a in authors if a and a.strip()})
        self._categories = [
            (c, re.compile(rf"\b{re.escape(c)}\s+{_SECTION_NOUNS}\b", re.IGNORECASE))
            for c in sorted({c for c in categories if c and c.strip()})
        ]

    def sources_named(self, name: str) -> frozenset[str]:
        """Sources that ``name`` denotes as a whole: the source itself or one of its short forms, any case."""
        wanted = name.strip().lower()
        return frozenset(s for s in self._source_names if wanted in {f.lower() for f in _source_aliases(s)[1]})

    def match_sources(self, text: str) -> list[tuple[int, int, frozenset[str]]]:
        return self._sources.find(text)

    def match_authors(self, text: str) -> list[tuple[int, int, frozenset[str]]]:
        return self._authors.find(text)

    def match_categories(self, text: str) -> set[str]:
        return {name for name, pattern in self._categories if pattern.search(text)}


def _source_aliases(source: str) -> tuple[str, set[str]]:
    """Ways a question may name an outlet: its full name, the part before a " - " or " | " suffix, without "The"."""
    name = source.strip()
    forms = {name, _SEPARATORS.split(name)[0].strip()}
    forms |= {f[4:] for f in forms if f.lower().startswith("the ") and len(f) > 4}
    return source, {f for f in forms if len(f) >= 3}


def _author_aliases(author: str) -> tuple[str, set[str]]:
    """An author is named by the full name of each credited person with at least two words."""
    people = re.split(r",|\band\b|&", author)
    forms = {p.strip() for p in people if len(p.split()) >= 2 and len(p.strip()) >= 5}
    return author, forms


class _AliasTable:
    """Aliases looked up by word n-grams: linear in the question's length, whatever the catalog's size.

    Words are runs of letters and digits, so punctuation inside a name ("CBSSports.com",
    "BBC News - Entertainment & Arts") matches however it is written. Names spelt like ordinary
    words ("Fortune", "The Age", "Sporting News") must be capitalised in the question; other names
    ("TechCrunch", "CNBC") match in any case.
    """

    def __init__(self, entries: Iterable[tuple[str, set[str]]]) -> None:
        self._table: dict[tuple[str, ...], tuple[set[str], bool]] = {}
        for name, forms in entries:
            for form in forms:
                words = _WORD.findall(form)
                if not words:
                    continue
                key = tuple(w.lower() for w in words)
                ordinary = all(w.isalpha() and w[0].isupper() and w[1:].islower() for w in words)
                names, strict = self._table.get(key, (set(), True))
                names.add(name)
                self._table[key] = (names, strict and ordinary)
        self._longest = max((len(k) for k in self._table), default=0)
        self._starts = {key[0] for key in self._table}

    def find(self, text: str) -> list[tuple[int, int, frozenset[str]]]:
        """(start, end, names) of each mention, longest match first, left to right, never overlapping."""
        words = list(_WORD.finditer(text))
        lowered = [m.group().lower() for m in words]
        found: list[tuple[int, int, frozenset[str]]] = []
        i = 0
        while i < len(words):
            if lowered[i] in self._starts:
                for n in range(min(self._longest, len(words) - i), 0, -1):
                    entry = self._table.get(tuple(lowered[i : i + n]))
                    if entry and (not entry[1] or all(m.group()[0].isupper() for m in words[i : i + n])):
                        found.append((words[i].start(), words[i + n - 1].end(), frozenset(entry[0])))
                        i += n
                        break
                else:
                    i += 1
            else:
                i += 1
        return found


def _blank(text: str, spans: Iterable[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def parse_query(text: str, catalog: Catalog | None = None, *, now: datetime | None = None) -> QueryIntent:
    """Read sources, authors, sections, dates and recency wishes out of a question.

    Author and section names are looked for only outside the outlet names, so an outlet
    called "World Business News" names no "business" section.
    """
    catalog = catalog or Catalog(())
    source_hits = catalog.match_sources(text)
    rest = _blank(text, ((start, end) for start, end, _ in source_hits))
    author_hits = catalog.match_authors(rest)
    source_mentions = [names for _, _, names in source_hits]
    today = (now or datetime.now()).date()
    return QueryIntent(
        text=text,
        sources=frozenset().union(*source_mentions),
        authors=frozenset().union(*(names for _, _, names in author_hits)),
        categories=frozenset(catalog.match_categories(rest)),
        dates=tuple(_dates(text, today)),
        prefers_recent=bool(_RECENCY.search(text)),
        source_mentions=tuple(dict.fromkeys(source_mentions)),
    )


def calendar_days(text: str) -> list[date]:
    """The calendar days ``text`` writes out in full ("October 1, 2023", "1st of Oct 2023", "2023-10-01"), in order."""
    return [rng.first for rng in _dates(text, None) if rng.first == rng.last]


def _dates(text: str, today: date | None) -> list[DateRange]:
    """Date ranges ``text`` names, in order; relative ones ("last week") only when ``today`` is given."""
    found: list[tuple[int, DateRange]] = []
    spans: list[tuple[int, int]] = []

    def add(match: re.Match[str], rng: DateRange | None) -> None:
        if rng is None or any(match.start() < e and s < match.end() for s, e in spans):
            return
        spans.append((match.start(), match.end()))
        found.append((match.start(), rng))

    for m in _ISO_DATE.finditer(text):
        add(m, _day(int(m.group(1)), int(m.group(2)), int(m.group(3))))
    for m in _MONTH_DAY_YEAR.finditer(text):
        add(m, _day(int(m.group(3)), _MONTHS[m.group(1).lower()], int(m.group(2))))
    for m in _DAY_MONTH_YEAR.finditer(text):
        add(m, _day(int(m.group(3)), _MONTHS[m.group(2).lower()], int(m.group(1))))
    for m in _MONTH_YEAR.finditer(text):
        year, month = int(m.group(2)), _MONTHS[m.group(1).lower()]
        add(m, DateRange(date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])))
    for m in _YEAR.finditer(text):
        year = int(m.group(1))
        add(m, DateRange(date(year, 1, 1), date(year, 12, 31)))
    for m in _RELATIVE.finditer(text) if today is not None else ():
        add(m, _relative(m.group(1).lower(), today))
    return [rng for _, rng in sorted(found, key=lambda f: f[0])]


def _relative(phrase: str, today: date) -> DateRange:
    """Calendar meaning of a relative time: "last week" is Monday to Sunday of the week before this one."""
    if phrase == "today":
        return DateRange(today, today)
    if phrase == "yesterday":
        return DateRange(today - timedelta(days=1), today - timedelta(days=1))
    kind, unit = phrase.split()[0], phrase.split()[-1]
    if unit == "days":
        count = phrase.split()[1]
        back = int(count) if count.isdigit() else 3
        return DateRange(today - timedelta(days=back), today)
    if kind == "past":
        back = {"week": 7, "month": 31, "year": 365}[unit]
        return DateRange(today - timedelta(days=back), today)
    if unit == "week":
        monday = today - timedelta(days=today.weekday())
        if kind == "this":
            return DateRange(monday, today)
        return DateRange(monday - timedelta(days=7), monday - timedelta(days=1))
    if unit == "month":
        first = today.replace(day=1)
        if kind == "this":
            return DateRange(first, today)
        previous_last = first - timedelta(days=1)
        return DateRange(previous_last.replace(day=1), previous_last)
    if kind == "this":
        return DateRange(date(today.year, 1, 1), today)
    return DateRange(date(today.year - 1, 1, 1), date(today.year - 1, 12, 31))


def _day(year: int, month: int, day: int) -> DateRange | None:
    try:
        d = date(year, month, day)
    except ValueError:
        return None
    return DateRange(d, d)
