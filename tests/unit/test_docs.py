"""The README is a short front door, and the docs' links and file paths point at real files."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Iterator, List, Tuple

import yaml

from clinic.paths import PROJECT_ROOT

README = PROJECT_ROOT / "README.md"
DOCS = PROJECT_ROOT / "docs"
#: The README stays a front door (issue 13 item 3); details belong in docs/.
README_MAX_LINES = 150
#: Generated or outside the repository: named in the docs, absent from a fresh clone.
NOT_IN_REPOSITORY = ("var/", "results/", "build/", "models/", "rasa/", "../shared/")

MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")

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


def pages() -> List[Path]:
    """The README and every docs page."""
    return [README, *sorted(DOCS.glob("*.md"))]


def anchors(page: Path) -> set[str]:
    """GitHub's anchors for a page's headings."""
    slugs = set()
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            title = re.sub(r"[^\w\- ]", "", title)
            slugs.add(title.replace(" ", "-"))
    return slugs


def local_links() -> Iterator[Tuple[Path, str]]:
    """(page, link) for every link that is not a web address."""
    for page in pages():
        for link in MARKDOWN_LINK.findall(page.read_text(encoding="utf-8")):
            if not re.match(r"[a-z]+:", link):
                yield page, link


def test_readme_is_a_front_door() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES


def test_readme_examples_are_the_questions_its_story_checks() -> None:
    stories = yaml.safe_load((PROJECT_ROOT / "tests/stories/test_topics.yml").read_text())
    story = next(s for s in stories["stories"] if s["story"] == "the four questions of the README")
    questions = [step["user"].strip() for step in story["steps"] if "user" in step]
    readme = README.read_text(encoding="utf-8")
    assert len(questions) == 4
    for question in questions:
        assert f'"{question}"' in readme, question


def test_every_docs_page_is_listed_in_the_readme() -> None:
    readme = README.read_text(encoding="utf-8")
    missing = [p.name for p in DOCS.glob("*.md") if f"](docs/{p.name})" not in readme]
    assert missing == []


def test_links_between_pages_resolve() -> None:
    broken = []
    for page, link in local_links():
        path, _, anchor = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        if path and path.lstrip("./").startswith(NOT_IN_REPOSITORY):
            continue
        if not target.exists():
            broken.append(f"{page.name}: {link}")
        elif anchor and target.suffix == ".md" and anchor not in anchors(target):
            broken.append(f"{page.name}: {link} (no such heading)")
    assert broken == []


def test_the_check_finds_a_missing_path_and_accepts_real_ones():
    text = ("See `clinic/nope.py`, knowledge/content.py, `tests/safety/*.txt`, "
            "tests/unit/knowledge/test_intents.py::test_answer_intent_naming, "
            "`stores/urls.make_private`, var/cluster/nginx/nginx.conf, "
            "https://example.org/clinic/gone.py, tests/unit/test_<module>.py, content/settings "
            "validation, `deploy/gone` and docs/gone/.")
    missing = missing_paths(text, top_level_folders())
    assert missing == ["clinic/nope.py", "deploy/gone", "docs/gone"]


def test_every_path_the_readme_and_docs_name_exists():
    folders = top_level_folders()
    missing = {
        str(page.relative_to(PROJECT_ROOT)): found
        for page in pages()
        if (found := missing_paths(page.read_text(encoding="utf-8"), folders))
    }
    assert missing == {}
