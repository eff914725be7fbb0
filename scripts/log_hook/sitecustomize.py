"""Python runs this at start-up when this directory is on PYTHONPATH (run_services.sh puts it
there): the redacting log record factory is installed before any service logs anything."""

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.append(_ROOT)

from clinic.log_redaction import install  # noqa: E402 (the project root is added just above)

install()
