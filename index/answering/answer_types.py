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


# What a sentence must hold to answer each kind (``holds_answer_type``). Names are runs of capitalised words; the first
# word of a sentence and words that are capitalised for other reasons (months, days, titles) do not count as names.
_MONTHS = "january february march april may june july august september october november december"
_DAYS = "monday tuesday wednesday thursday friday saturday sunday"
_NOT_NAMES = frozenset(f"{_MONTHS} {_DAYS} i mr mrs ms dr sir the a an it he she they we this that but and".split())
_CAPITALISED_WORD = re.compile(r"(?<![\w'’])[A-Z][\w'’&-]*")
_WHEN = re.compile(
    rf"\b(?:1[5-9]\d\d|20\d\d|\d{{1,2}}(?:st|nd|rd|th)|(?:{_MONTHS.replace(' ', '|')}|{_DAYS.replace(' ', '|')})"
    r"|yesterday|today|tomorrow|tonight|last (?:week|month|year|night)|next (?:week|month|year)"
    r"|(?:this|that) (?:week|month|year|morning|evening)|decades?|centur(?:y|ies)|\d+ (?:years?|months?|weeks?|days?)"
    r" (?:ago|later|earlier|before|after))\b",
    re.IGNORECASE,
)
_NUMBER_WORDS = (
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen "
    "eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred hundreds thousand thousands "
    "million millions billion billions trillion dozen dozens half twice double triple"
)
_COUNT = re.compile(rf"\d|\b(?:{_NUMBER_WORDS.replace(' ', '|')})\b", re.IGNORECASE)
_AMOUNT = re.compile(
    r"[£$€¥]\s?\d|\d\s?(?:%|p\b|bn\b|m\b|k\b)|\b\d[\d,.]*\s*(?:per ?cent|percent|pounds?|dollars?|euros?|pence|cents?"
    r"|yen|francs?|million|billion|trillion)\b|\b(?:million|billion|trillion|half|double|doubled|tripled)\b",
    re.IGNORECASE,
)
_CAUSE = re.compile(
    r"\b(?:because|due to|owing to|as a result|result(?:ed|s)? (?:in|from)|caused? by|blam(?:e|ed|es|ing)|"
    r"following|amid|after|since|in order to|so that|so as to|in protest|in response|reasons?|why|"
    r"to (?:avoid|protect|ensure|prevent|allow|help|make|give|keep|stop|meet|cut|boost|raise|reduce|improve)|"
    r"aimed at|designed to|intended to|meant to|over (?:claims|concerns|fears|allegations|a row|the row)|"
    r"concerns?|fears?|accus(?:ed|ation)|allegations?|led to|leading to|prompt(?:ed|ing)|said (?:it|he|she|they) "
    r"(?:was|were|had|would|wanted)|citing|cited|explain(?:ed|s)?|therefore|thus|consequently)\b",
    re.IGNORECASE,
)


def _new_names(sentence: str, asked: str) -> list[str]:
    """Capitalised words of ``sentence`` that are not its first word, not common capitalised words and not in the
    question ``asked``."""
    known = {w.lower() for w in _CAPITALISED_WORD.findall(asked)} | set(re.findall(r"[\w'’&-]+", asked.lower()))
    words = []
    for match in _CAPITALISED_WORD.finditer(sentence):
        before = sentence[: match.start()].rstrip()
        if not before or before[-1] in ".!?:\"“‘'(":
            continue  # the first word of a sentence or a quotation is capitalised anyway
        word = match.group().lower().strip("'’")
        if word not in _NOT_NAMES and word not in known:
            words.append(word)
    return words


def _new_matches(pattern: re.Pattern, sentence: str, asked: str) -> bool:
    asked = asked.lower()
    return any(m.group().lower() not in asked for m in pattern.finditer(sentence))


def holds_answer_type(kind: str, sentence: str, asked: str) -> bool | None:
    """Whether ``sentence`` holds something of the ``kind`` the question ``asked`` expects that the question does not
    already say: a new name for *who*/*where*, a date for *when*, an amount or a count, a cause for *why*. None for the
    kinds no rule can check (*yes/no*, *what*)."""
    if kind in (WHO, WHERE):
        return bool(_new_names(sentence, asked))
    if kind == WHEN:
        return _new_matches(_WHEN, sentence, asked)
    if kind == HOW_MUCH:
        return _new_matches(_AMOUNT, sentence, asked) or _new_matches(_COUNT, sentence, asked)
    if kind == HOW_MANY:
        return _new_matches(_COUNT, sentence, asked)
    if kind == WHY:
        return bool(_CAUSE.search(sentence))
    return None
