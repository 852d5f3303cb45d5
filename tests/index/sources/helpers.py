"""Paths to the source readers' fixture files."""

from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
FORMATS = FIXTURES / "formats"
BAD = FIXTURES / "bad"
