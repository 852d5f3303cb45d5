"""What kind of thing a question asks for: a name (*who*), a date (*when*), a place (*where*), an amount (*how
much*), a count (*how many*), a cause (*why*), a yes or no, or anything else (*what*). Rules over the question's
words, not a model: the earliest phrase that names a kind decides."""

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
    """The kind of answer ``question`` asks for (one of the kinds above); ``what`` when nothing narrower fits."""
    first: tuple[int, str] | None = None
    for kind, pattern in _COMPILED:
        match = pattern.search(question)
        if match and (first is None or match.start() < first[0]):
            first = (match.start(), kind)
    return first[1] if first else WHAT
