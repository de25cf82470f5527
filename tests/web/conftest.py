"""Fixtures for the page tests: Debian's Chromium through Playwright (never a downloaded
browser), as in tests/upstream."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.upstream.support import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture
def chromium() -> Iterator[Any]:
    # No skip when it is missing: .ci/run installs it, and a skipped browser test proves nothing.
    assert CHROMIUM.exists(), "Debian's chromium is needed: apt-get install chromium"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()
