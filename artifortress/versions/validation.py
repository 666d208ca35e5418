"""Rules for package names, version strings and artifact file names, shared by every format."""

from __future__ import annotations

import re

from artifortress.errors import ValidationFailed
from artifortress.text import name_problem, nfc

VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+_!-]{0,127}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_FILENAME = 255


def clean_name(name: str, what: str = "package name") -> str:
    """*name* in NFC, after refusing (400) what no stored name may hold.

    One rule for every format, since each stores its names through the core:
    invalid UTF-8, controls, bidi and other invisible characters, look-alikes
    of '.', '/' and '\\' (see :func:`artifortress.text.name_problem`).
    """
    problem = name_problem(name)
    if problem:
        raise ValidationFailed(f"{what} {name!r} is refused: {problem}")
    return nfc(name)


def check_version(version: str) -> str:
    if not VERSION.fullmatch(version):  # match() would let a trailing newline through
        raise ValidationFailed(
            f"version {version!r} is invalid: use 1-128 letters, digits, '.', '+', '_', '!' "
            "or '-', starting with a letter or digit"
        )
    return version


def check_filename(filename: str) -> str:
    """A relative path of safe segments: no ``..``, no absolute path, no backslash or control."""
    problem = _filename_problem(filename)
    if problem:
        raise ValidationFailed(f"file name {filename!r} is refused: {problem}")
    return filename


def _filename_problem(filename: str) -> str | None:
    if not filename or len(filename) > MAX_FILENAME:
        return f"it must have 1 to {MAX_FILENAME} characters"
    if _CONTROL.search(filename) or "\\" in filename:
        return "control characters and backslashes are not allowed"
    problem = name_problem(filename)
    if problem:
        return problem
    if nfc(filename) != filename:
        return "it is not in Unicode NFC (send the composed form)"
    if filename.startswith("/"):
        return "it must be relative"
    if any(segment in ("", ".", "..") for segment in filename.split("/")):
        return "empty, '.' and '..' path segments are not allowed"
    return None
