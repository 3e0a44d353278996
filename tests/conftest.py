"""Shared pytest set-up for the unit tests.

``make test`` checks the chapters with nbval, passing ``--nbval`` and the
sanitizer file ``tests/nbval_sanitize.cfg``. Each notebook seeds itself in its
set-up cell, because nothing here reaches the kernels.
"""

import pytest

from dlnotes.device import seed_everything


@pytest.fixture(autouse=True)
def _seeded() -> None:
    """Seed every generator before each test, so failures reproduce."""
    seed_everything(0)
