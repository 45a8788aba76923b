"""The pages of docs whose every number is printed by the code shown run as doctests."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

#: Each page with the fewest examples it must run (a page whose examples vanish fails).
PAGES = {"own-circuit.md": 11, "decomposition.md": 6}
DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.mark.parametrize("page", PAGES)
def test_page_runs_and_prints_its_numbers(page):
    result = doctest.testfile(str(DOCS / page), module_relative=False, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.attempted >= PAGES[page] and result.failed == 0, (
        f"{page}: {result.failed} of {result.attempted} examples failed"
    )
