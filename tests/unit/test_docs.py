"""The README is a short front door, and the docs' links and file paths point at real files."""

from __future__ import annotations

import re
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
#: A backticked project path with a folder and a file extension, e.g. `clinic/settings.py`.
CODE_PATH = re.compile(
    r"`((?:\.\./)?[A-Za-z_.][\w.-]*/[\w./-]*\."
    r"(?:py|yml|yaml|md|sh|txt|tsv|template|json|css|js|html|toml|in|lock|png))`"
)


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


def test_file_paths_named_in_the_docs_exist() -> None:
    # Paths are relative to the repository root, as the docs write them.
    missing = []
    for page in pages():
        for path in CODE_PATH.findall(page.read_text(encoding="utf-8")):
            if path.startswith(NOT_IN_REPOSITORY):
                continue
            if not (PROJECT_ROOT / path).exists():
                missing.append(f"{page.name}: {path}")
    assert missing == []
