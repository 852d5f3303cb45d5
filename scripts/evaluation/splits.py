"""Which evaluation questions models may be fitted on, and which are kept for measuring them.

Three disjoint splits, so that no reported figure comes from a question a model saw:

- ``quotes`` (50%): the quote model is fitted on these (``scripts/fit_quote_model.py``);
- ``abstention`` (20%): the abstention model is fitted on these (``scripts/calibrate_abstention.py``);
  it reads the quote model's verdicts, which are over-confident on the questions that model was
  fitted on, so it needs questions of its own;
- ``held-out`` (30%): ``archivist eval answers`` measures on these by default.

Questions are split by group, not one by one, so that near-duplicates land on the same side:
SQuAD questions by their article, MultiHop-RAG questions (which reuse the same evidence in
differently worded questions) by the article of their first evidence fact. A question keeps
its split when it is asked of the other archive.
"""

from __future__ import annotations

import hashlib

SHARES = {"quotes": 0.5, "abstention": 0.2, "held-out": 0.3}
SPLITS = ("held-out", "quotes", "abstention", "all")  # what `archivist eval answers --split` accepts


def split_of(group: str) -> str:
    """The split of a question group (see ``SquadQuestion.group`` / ``MultiHopQuestion.group``)."""
    position = hashlib.sha256(group.encode("utf-8")).digest()[0] / 256
    for name, share in SHARES.items():
        if position < share:
            return name
        position -= share
    return "held-out"
