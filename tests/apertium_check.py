"""Tests that need Debian's Apertium: skipped only off CI when it is truly absent.

In CI ``scripts/install-system-deps.sh`` installs it, so there a missing Apertium fails.
"""

from __future__ import annotations

import os

import pytest

from pipeline.models.apertium import apertium_available


def require_apertium() -> None:
    """Fail (CI) or skip (elsewhere) when ``apertium`` is not installed."""
    if apertium_available():
        return
    message = "apertium is not installed: run scripts/install-system-deps.sh"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)
