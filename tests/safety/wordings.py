"""The red-flag test lists (emergency wordings and look-alikes)."""

from pathlib import Path
from typing import List

HERE = Path(__file__).parent


def read_list(name: str) -> List[str]:
    """Non-empty, non-comment lines of a list file in tests/safety/."""
    lines = (HERE / name).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


EMERGENCY_WORDINGS = read_list("emergency_wordings.txt")
LOOKALIKES = read_list("lookalikes.txt")
