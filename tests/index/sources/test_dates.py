"""Dates become ISO 8601, aware only when the source names a timezone."""

import pytest

from index.sources.dates import normalise_date


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("2023-11-27 08:45:59.000000000Z", "2023-11-27T08:45:59+00:00"),
        ("2024-03-05T10:00:00+0100", "2024-03-05T10:00:00+01:00"),
        ("Tue, 05 Mar 2024 10:00:00 GMT", "2024-03-05T10:00:00+00:00"),
        ("Tue, 05 Mar 2024 10:00:00 -0000", "2024-03-05T10:00:00"),
        ("2024-03-05 10:00:00", "2024-03-05T10:00:00"),
        ("2024-03-05", "2024-03-05"),
        ("January 31, 2026", "2026-01-31"),
        ("5 March 2024 10:00 EST", "2024-03-05T10:00:00-05:00"),
        (1709632800, "2024-03-05T10:00:00+00:00"),
        (1709632800000, "2024-03-05T10:00:00+00:00"),
        ("", None),
        (None, None),
    ],
)
def test_dates_are_normalised(raw, iso):
    assert normalise_date(raw) == iso


@pytest.mark.parametrize("raw", ["yesterday", "soon", "12", True])
def test_non_dates_are_refused(raw):
    with pytest.raises(ValueError):
        normalise_date(raw)
