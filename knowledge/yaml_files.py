"""Reading the project's reviewed YAML files with errors that name the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Type

import yaml


def read_mapping(path: Path, error: Type[Exception], what: str) -> Dict[str, Any]:
    """The YAML mapping in `path`; raises `error` naming the file when it is absent or bad."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{path}: {what} not found") from None
    except yaml.YAMLError as exc:
        raise error(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise error(f"{path}: expected a mapping at the top level")
    return raw


def read_phrase_lists(raw: Dict[str, Any], key: str, path: Path, item: str) -> Dict[str, List[str]]:
    """The named phrase lists under `key` (`{name: [phrase, ...]}`), or ValueError naming them.

    `item` names one list in the message ("subject", "aspect").
    """
    lists = raw.get(key) or {}
    if not isinstance(lists, dict) or not lists:
        raise ValueError(f"{path}: no {key}")
    for name, phrases in lists.items():
        if not phrases or not all(isinstance(p, str) and p.strip() for p in phrases):
            raise ValueError(f"{path}: {item} '{name}' needs a list of phrases")
    return lists
