"""Hides other packages' deprecation warnings from the services' output; never the project's.

A service started by scripts/run_services.sh printed about 20 DeprecationWarnings at start-up
(pkg_resources, pyparsing via matplotlib and packaging, click via typer and spaCy, jax, distutils
in sanic_cors) and one per widget message: they say nothing about this project and bury its own
log lines. Setting PYTHONWARNINGS=ignore::DeprecationWarning did not help, and would hide the
project's own: importing sanic.app runs `filterwarnings("once", category=DeprecationWarning)`,
which goes in front of every filter set before it.

So the filter here ignores deprecation warnings attributed to any module outside the project's
packages, and is put in front again right after sanic.app is imported. Installed in every
service process by scripts/log_hook/sitecustomize.py.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import warnings
from types import ModuleType
from typing import Optional, Sequence

#: The project's own packages: their deprecation warnings are always shown.
PROJECT_PACKAGES = ("actions", "channels", "clinic", "components", "webapp", "rasa_sdk_plugins",
                    "scripts", "tests", "__main__")
CATEGORIES = (DeprecationWarning, PendingDeprecationWarning)
#: A module name outside the project's packages (the filter matches from the name's start).
THIRD_PARTY_MODULE = r"(?!(?:{})(?:\.|$))".format("|".join(PROJECT_PACKAGES))
#: Modules that change the warning filters when imported; the filter goes in front after them.
_REORDERING_MODULES = frozenset({"sanic.app"})


def install_filters() -> None:
    """Puts the third-party deprecation filters in front of every other filter (idempotent)."""
    for category in CATEGORIES:
        warnings.filterwarnings("ignore", category=category, module=THIRD_PARTY_MODULE)


class _RefilterAfterImport(importlib.abc.MetaPathFinder):
    """Re-installs the filters right after a module that reorders them has been imported."""

    def find_spec(self, fullname: str, path: Optional[Sequence[str]],
                  target: Optional[ModuleType] = None) -> Optional[importlib.machinery.ModuleSpec]:
        if fullname not in _REORDERING_MODULES:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = _Refiltering(spec.loader)
                return spec
        return None


class _Refiltering(importlib.abc.Loader):
    def __init__(self, inner: importlib.abc.Loader) -> None:
        self.inner = inner

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> Optional[ModuleType]:
        return self.inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self.inner.exec_module(module)
        install_filters()


def install() -> None:
    """Installs the filters now and after every import that would override them."""
    install_filters()
    if not any(isinstance(finder, _RefilterAfterImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _RefilterAfterImport())
