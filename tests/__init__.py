"""The test suite. Helpers shared by test modules live in small modules here (``broker``,
``bridge``, ``daemon``, ``recorder``, ``_tables``); fixtures in ``conftest.py``."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
