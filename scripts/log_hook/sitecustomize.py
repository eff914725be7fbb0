"""Installs log redaction and the third-party warning filter before a service logs anything.

The filter keeps other packages' deprecation warnings out of the output (clinic/warning_filters.py).

Python imports `sitecustomize` at start-up when this directory is on PYTHONPATH
(scripts/run_services.sh puts it there).
"""

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.append(_ROOT)

from clinic.warning_filters import install as install_warning_filters  # noqa: E402
from safety.log_redaction import install  # noqa: E402 (the project root is added just above)

install()
install_warning_filters()
