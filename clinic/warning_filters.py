"""Hides other packages' deprecation warnings from the services' output; never the project's.

A service started by scripts/run_services.sh printed about 20 DeprecationWarnings at start-up
(pkg_resources, pyparsing via matplotlib and packaging, click via typer and spaCy, jax, distutils
in sanic_cors): they say nothing about this project and bury its own log lines. Setting
PYTHONWARNINGS=ignore::DeprecationWarning did not help, and would hide the project's own: a
filter only works while no filter in front of it matches, and libraries put theirs in front
when imported or started (sanic.app: `filterwarnings("once", category=DeprecationWarning)`;
Rasa: `"once"` for UserWarning, which pyparsing's deprecation warnings also are).

So the filter here ignores deprecation warnings attributed to a module outside the project's
packages, and goes back in front after every other change of the filters. Installed in every
service process by scripts/log_hook/sitecustomize.py.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any, Callable

from clinic.paths import CODE_PACKAGES

#: The project's own packages: their deprecation warnings are always shown.
PROJECT_PACKAGES = (*CODE_PACKAGES, "rasa_patches", "scripts", "tests", "__main__")
CATEGORIES = (DeprecationWarning, PendingDeprecationWarning)
#: A module name outside the project's packages (a filter's module pattern matches from the
#: start of the name).
THIRD_PARTY_MODULE = r"(?!(?:{})(?:\.|$))".format("|".join(PROJECT_PACKAGES))

_filterwarnings = warnings.filterwarnings
_simplefilter = warnings.simplefilter


def install_filters() -> None:
    """Puts the third-party deprecation filters in front of every other filter (idempotent)."""
    for category in CATEGORIES:
        _filterwarnings("ignore", category=category, module=THIRD_PARTY_MODULE)


def _filters_first(change: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(change)
    def changed_then_first(*args: Any, **kwargs: Any) -> None:
        change(*args, **kwargs)
        install_filters()

    return changed_then_first


def install() -> None:
    """Installs the filters, and keeps them in front when a library adds its own."""
    install_filters()
    if warnings.filterwarnings is _filterwarnings:
        warnings.filterwarnings = _filters_first(_filterwarnings)
        warnings.simplefilter = _filters_first(_simplefilter)
