"""What a format reader hands back for one file, before ``read_file`` checks and freezes it."""

from __future__ import annotations

from dataclasses import dataclass, field

from index.errors import SourceError
from index.models import ArticleDraft, FileProblem
from index.sources.fields import draft_from_record
from index.sources.origins import record_origin


@dataclass
class Extraction:
    drafts: list[ArticleDraft] = field(default_factory=list)
    problems: list[FileProblem] = field(default_factory=list)
    notes: list[FileProblem] = field(default_factory=list)

    def add_record(self, record: object, file: str, number: int) -> None:
        """Map one record of a multi-article file, recording why it was skipped if it cannot be used."""
        origin = record_origin(file, number)
        if not isinstance(record, dict):
            self.problems.append(FileProblem(origin, f"Record {number} is not an object with article fields."))
            return
        try:
            mapped = draft_from_record(record, origin, label=f"Record {number}")
        except SourceError as error:
            self.problems.append(FileProblem(origin, str(error)))
            return
        self.drafts.append(mapped.draft)
        if mapped.date_problem:
            self.notes.append(FileProblem(origin, mapped.date_problem))
