"""Project names: PEP 503 normalization and the core metadata validity rule."""

from __future__ import annotations

import re

# Core metadata "Name": ASCII letters and digits, with '.', '_' and '-' allowed inside only.
_VALID_NAME = re.compile(r"[A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9]", re.IGNORECASE)
_SEPARATOR_RUNS = re.compile(r"[-_.]+")

# Longer names are refused: no real project needs them and they bloat every page and key.
MAX_NAME_LENGTH = 200


def normalize(name: str) -> str:
    """Return the PEP 503 normalized form: runs of '-', '_' and '.' become '-', lower-cased."""
    return _SEPARATOR_RUNS.sub("-", name).lower()


def is_valid_project_name(name: str) -> bool:
    """Tell whether ``name`` is a valid core metadata project name (and not absurdly long)."""
    return len(name) <= MAX_NAME_LENGTH and _VALID_NAME.fullmatch(name) is not None


def is_normalized(name: str) -> bool:
    """Tell whether ``name`` is already in its normalized form (the URL spelling clients use)."""
    return is_valid_project_name(name) and normalize(name) == name
