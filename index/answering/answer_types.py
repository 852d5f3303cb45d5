"""What kind of thing a question asks for, and whether a sentence holds one that the question does not already say.

A question that asks *who* wants a name, *when* a date, *how much* an amount, *how many* a count, *where* a place
and *why* a cause. A sentence that restates the question's own words but holds no new thing of that kind does not
answer it, however similar it is: that is the commonest way a topical sentence is quoted instead of the one with
the fact, and the commonest way a question the archive cannot answer still gets quotes. Rules, not a model: each
kind is recognised by its surface form (capitalised names, years, months, currency, numbers, causal connectives).
"""

from __future__ import annotations

import re

WHO, WHEN, WHERE, HOW_MUCH, HOW_MANY, WHY, YES_NO, WHAT = (
    "who",
    "when",
    "where",
    "how_much",
    "how_many",
    "why",
    "yes_no",
    "what",
)
ANSWER_TYPES = (WHO, WHEN, WHERE, HOW_MUCH, HOW_MANY, WHY, YES_NO, WHAT)
TYPED = frozenset({WHO, WHEN, WHERE, HOW_MUCH, HOW_MANY, WHY})  # kinds a sentence can be checked for

_RULES = (
    (
        HOW_MUCH,
        r"\bhow much\b|\bwhat (?:was|is|were|are) the (?:cost|price|value|fee|fine|salary|budget|bill)\b"
        r"|\bhow (?:expensive|costly)\b|\bwhat (?:percentage|percent|proportion|share)\b|\bwhat did .{1,60}\b(?:cost|pay|sell for|fetch|earn|raise)\b",
    ),
    (
        HOW_MANY,
        r"\bhow many\b|\bhow (?:old|long|far|often|big|large|tall|high|fast)\b"
        r"|\bwhat (?:number|age|rate)\b|\bby how\b",
    ),
    (WHEN, r"\bwhen\b|\bwhat (?:year|date|day|month|time)\b|\bwhich (?:year|date|day|month)\b|\bsince when\b"),
    (
        WHERE,
        r"\bwhere\b|\bwhich (?:country|city|town|venue|stadium|place|region|state|county|ground)\b"
        r"|\bwhat (?:country|city|town|venue|stadium|place|region)\b",
    ),
    (
        WHY,
        r"\bwhy\b|\bwhat (?:was|is|were|are) the reasons?\b|\bhow come\b|\bwhat caused\b|\bwhat led\b"
        r"|\bfor what reason\b|\bwhat made\b",
    ),
    (
        WHO,
        r"\bwho(?:m|se)?\b|\bwhich (?:company|firm|team|club|player|man|woman|person|band|group|party|minister"
        r"|singer|actor|actress|director|star|bank|airline|manager|chief|boss|side|country's)\b"
        r"|\bwhat(?:'s| is| was) (?:the )?name\b|\bnamed\b",
    ),
    (YES_NO, r"^\s*(?:is|are|was|were|did|does|do|has|have|had|can|could|will|would|should)\b"),
)
_COMPILED = tuple((kind, re.compile(pattern, re.IGNORECASE)) for kind, pattern in _RULES)


def expected_answer_type(question: str) -> str:
    """The kind of answer ``question`` asks for (one of ``ANSWER_TYPES``); ``what`` when nothing narrower fits."""
    first: tuple[int, str] | None = None
    for kind, pattern in _COMPILED:
        match = pattern.search(question)
        if match and (first is None or match.start() < first[0]):
            first = (match.start(), kind)
    return first[1] if first else WHAT


_MONTHS = (
    "January|February|March|April|May|June|July|August|September|October|November|December"
    "|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"
)
_WEEKDAYS = "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
_DATE = re.compile(
    rf"\b(?:1[5-9]\d\d|20\d\d)s?\b|\b(?:{_MONTHS})\b|\b(?:{_WEEKDAYS})\b|\b\d{{1,2}}(?:st|nd|rd|th)\b"
    r"|\b(?:yesterday|today|tonight|tomorrow|last (?:week|month|year|night)|next (?:week|month|year)"
    r"|(?:this|earlier this|later this) (?:week|month|year)|(?:a|one|two|three) (?:weeks?|months?|years?) ago)\b"
    r"|\b\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b|\bin the (?:spring|summer|autumn|winter)\b"
)
_CURRENCY = re.compile(
    r"[£$€¥]\s?\d|\b\d[\d,.]*\s?(?:m|bn|k|million|billion|trillion|thousand)?\s?"
    r"(?:pounds?|dollars?|euros?|yen|pence|cents?|p|bn|m|million|billion|trillion)\b"
    r"|\b\d[\d,.]*\s?(?:%|per ?cent|percent)|\b(?:US|A|C|HK)\$\s?\d"
)
_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen"
    r"|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|hundreds|thousand|thousands"
    r"|million|millions|billion|dozen|dozens|half|third|quarter|double|twice|treble|triple"
)
_NUMBER = re.compile(rf"\d|\b(?:{_NUMBER_WORDS})\b", re.IGNORECASE)
_CAUSE = re.compile(
    r"\b(?:because|due to|owing to|as a result|result(?:ed)? (?:of|from|in)|thanks to|in order to|so that|so as to"
    r"|after|following|amid|since|blam(?:e|ed|es|ing)|cit(?:e|ed|es|ing)|caus(?:e|ed|es|ing)|reasons?|led to"
    r"|lead to|driven by|fuelled by|fueled by|prompted|sparked|triggered|aimed at|in protest|over concerns?"
    r"|concerns? (?:over|about|that)|fears? (?:over|about|that)|argu(?:e|ed|es|ing) that|said (?:it|he|she|they) "
    r"(?:was|were|had|would)|to (?:avoid|help|make|allow|stop|prevent|protect|boost|cut|reduce|ensure|meet))\b",
    re.IGNORECASE,
)
_PLACE = re.compile(r"\b(?:in|at|from|near|to|into|across|outside|inside|around)\s+(?:the\s+)?[A-Z][\w'’.-]+")
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z][\w'’-]*(?:\s+(?:[A-Z][\w'’-]+|de|van|von|al|bin))*")
_WORD = re.compile(r"[\w'’]+")
# Capitalised words that name no one: titles, function words at a clause's start, months and days.
_NOT_NAMES = frozenset(
    "mr mrs ms miss dr sir lord lady prof the a an but and he she it they we i you his her its their this that these "
    "those there here in on at for of as if when while after before since so yet or our my your what who why how "
    "january february march april may june july august september october november december monday tuesday "
    "wednesday thursday friday saturday sunday".split()
)


def _new(matches: list[str], question_words: set[str], *, names: bool = False) -> bool:
    """Whether any matched thing brings a word the question does not already hold (for ``names``, a word that
    can be part of a name)."""
    for found in matches:
        words = {w.lower() for w in _WORD.findall(found)} - question_words
        if names:
            words -= _NOT_NAMES
        if words:
            return True
    return False


def holds_answer_type(answer_type: str, sentence: str, question: str) -> bool:
    """Whether ``sentence`` holds a thing of the kind ``answer_type`` that ``question`` does not already say.

    Untyped kinds (``yes_no``, ``what``) are always held: nothing narrower can be checked."""
    if answer_type not in TYPED:
        return True
    question_words = {w.lower() for w in _WORD.findall(question)}
    if answer_type == WHEN:
        return _new(_DATE.findall(sentence), question_words)
    if answer_type == HOW_MUCH:
        return _new(_CURRENCY.findall(sentence), question_words) or _new(
            [m.group() for m in re.finditer(r"\b\d[\d,.]*\b", sentence)], question_words
        )
    if answer_type == HOW_MANY:
        return _new(_NUMBER.findall(sentence), question_words)
    if answer_type == WHY:
        return bool(_CAUSE.search(sentence))
    names = _NAME.findall(sentence)
    if answer_type == WHERE:
        return _new(_PLACE.findall(sentence), question_words, names=True) or _new(names, question_words, names=True)
    return _new(names, question_words, names=True)  # WHO
