"""What the health endpoint knows about a store: failures by type and time, never data."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Dict, Optional


@dataclass
class StoreHealth:
    """What the health endpoint reports about one store (no conversation data)."""

    ok: bool = True
    failures: int = 0
    last_error: Optional[str] = None
    last_error_at: Optional[float] = None
    last_ok_at: Optional[float] = None
    details: Dict[str, Any] = field(default_factory=dict)

    def succeeded(self) -> None:
        """Records a successful operation."""
        self.ok = True
        self.last_ok_at = time.time()

    def failed(self, error: BaseException) -> None:
        """Records a failed operation (the error's type only: messages can carry data)."""
        self.ok = False
        self.failures += 1
        self.last_error = type(error).__name__
        self.last_error_at = time.time()

    def as_dict(self) -> Dict[str, Any]:
        """JSON-ready summary."""
        return {
            "ok": self.ok,
            "failures": self.failures,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at,
            "last_ok_at": self.last_ok_at,
            **self.details,
        }
