"""The shape of the code, checked: modules stay small enough to read in one sitting.

(The complexity of each function is ruff's C901, configured in pyproject.toml.)
"""

from __future__ import annotations

from pathlib import Path

BOT = Path(__file__).resolve().parent.parent / "bot"
MAX_LINES = 400


def test_no_module_of_bot_is_over_400_lines() -> None:
    too_long = {str(path.relative_to(BOT.parent)): n for path in sorted(BOT.rglob("*.py"))
                if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert too_long == {}, f"split these modules (over {MAX_LINES} lines): {too_long}"
