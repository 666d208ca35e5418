"""Distribution filenames: parse a wheel or sdist filename into name, version and kind."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Final, Literal

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from .errors import PypiError
from .names import normalize

Kind = Literal["bdist_wheel", "sdist"]

# Long enough for any real wheel (manylinux tag sets are long), short enough for any filesystem.
MAX_FILENAME_LENGTH: Final = 255

# Everything a PEP 427 / PEP 625 filename can hold: name, PEP 440 version ('!' epoch, '+' local),
# build and compressed tag sets. Refusing the rest also keeps URLs and storage keys clean.
_ALLOWED = re.compile(r"[A-Za-z0-9._+!-]+")
_EXTENSION_HELP = (
    "Invalid file extension: Use .tar.gz, .whl or .zip extension. "
    "See https://www.python.org/dev/peps/pep-0527 and https://peps.python.org/pep-0625/ "
    "for more information."
)


@dataclass(frozen=True, slots=True)
class ParsedFilename:
    """What a distribution filename says: normalized project name, version and file kind."""

    filename: str
    name: str
    version: Version
    kind: Kind

    @property
    def version_string(self) -> str:
        """The version in its PEP 440 normalized spelling (``1.0.0-RC1`` -> ``1.0.0rc1``)."""
        return str(self.version)

    @property
    def python_version(self) -> str:
        """The ``pyversion`` twine sends: the wheel's python tag, or ``source`` for an sdist."""
        if self.kind == "sdist":
            return "source"
        return self.filename[: -len(".whl")].split("-")[-3]


def parse_filename(filename: str) -> ParsedFilename:
    """Parse a wheel (``.whl``) or sdist (``.tar.gz``, ``.zip``) filename, or raise PypiError.

    Refused with a reason: path separators, ``..``, control or other unexpected characters,
    names longer than MAX_FILENAME_LENGTH, any other extension, and names that packaging's
    wheel/sdist filename rules reject.
    """
    _check_characters(filename)
    lowered = filename.lower()
    if lowered.endswith(".whl"):
        return _parse_wheel(filename)
    if lowered.endswith((".tar.gz", ".zip")):
        return _parse_sdist(filename)
    raise PypiError(_EXTENSION_HELP)


#: The character rules of :func:`_check_characters` in one expression (checked per file of
#: every upstream page, so one regex match rather than a walk over the characters).
_SAFE = re.compile(r"(?!.*\.\.)[A-Za-z0-9_+!][A-Za-z0-9._+!-]*")


def is_safe_filename(filename: str) -> bool:
    """Whether *filename* passes the character rules of :func:`parse_filename` (any extension)."""
    return len(filename) <= MAX_FILENAME_LENGTH and _SAFE.fullmatch(filename) is not None


#: The version key of an upstream file whose name follows no wheel, sdist or
#: legacy ``{name}-{version}`` rule (an ``.exe`` with a platform suffix, say):
#: such files of a project are kept together under this one version.
UNPARSED_VERSION = "0+unparsed"

#: Extensions of distributions PyPI once accepted besides wheels and sdists.
_LEGACY_EXTENSIONS = (".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".tar", ".zip", ".egg", ".exe")


@functools.lru_cache(maxsize=65536)  # every file of every upstream page read, again per fetch
def version_key(project: str, filename: str) -> str:
    """The version an upstream file of *project* is kept under in a remote repository.

    Wheels and sdists: the version their name holds (PEP 440 normalized).
    Legacy names (``{name}-{version}[-...]`` plus an old extension, such as
    eggs): the segment after the project's name when it is a PEP 440 version.
    Anything else: :data:`UNPARSED_VERSION`.
    """
    try:
        return parse_filename(filename).version_string
    except PypiError:
        pass
    return _legacy_version(normalize(project), filename) or UNPARSED_VERSION


@functools.lru_cache(maxsize=65536)
def belongs_to(project: str, filename: str) -> bool:
    """Whether an upstream file is one of *project*'s, as pip decides (names normalized).

    A wheel's name is the part before its first ``-``; any other file's is a
    prefix ending at a ``-`` that normalizes to the project's name and is
    followed by a PEP 440 version. Upstream pages can list files of other
    projects (``foo-bar-1.0.tar.gz`` on ``foo``'s): pip and uv pass them over,
    and a remote must not serve them as the project's.
    """
    project = normalize(project)
    if filename.lower().endswith(".whl"):
        try:
            return normalize(str(parse_wheel_filename(filename)[0])) == project
        except InvalidWheelFilename:
            return False
    extension = next((e for e in _LEGACY_EXTENSIONS if filename.lower().endswith(e)), "")
    return _version_after_name(project, filename[: len(filename) - len(extension)]) is not None


def _legacy_version(project: str, filename: str) -> str | None:
    extension = next((e for e in _LEGACY_EXTENSIONS if filename.lower().endswith(e)), None)
    if extension is None:
        return None
    return _version_after_name(project, filename[: -len(extension)])


def _version_after_name(project: str, stem: str) -> str | None:
    """The version after the ``-`` that ends *project*'s name in *stem* (``name-version[-…]``)."""
    parts = stem.split("-")
    for end in range(1, len(parts)):
        if normalize("-".join(parts[:end])) == project:
            try:
                return str(Version(parts[end]))
            except InvalidVersion:
                return None
    return None


def _check_characters(filename: str) -> None:
    """Refuse filenames that could escape a directory, hide characters or overflow a column."""
    if not filename:
        raise PypiError("Invalid filename: the filename is empty.")
    if len(filename) > MAX_FILENAME_LENGTH:
        raise PypiError(
            f"Invalid filename: longer than {MAX_FILENAME_LENGTH} characters ({len(filename)})."
        )
    if "/" in filename or "\\" in filename:
        raise PypiError(f"Invalid filename {filename!r}: path separators are not allowed.")
    if ".." in filename:
        raise PypiError(f"Invalid filename {filename!r}: '..' is not allowed.")
    if any(ord(char) < 32 or ord(char) == 127 for char in filename):
        raise PypiError(f"Invalid filename {filename!r}: control characters are not allowed.")
    if _ALLOWED.fullmatch(filename) is None:
        raise PypiError(
            f"Invalid filename {filename!r}: only ASCII letters, digits and '._+!-' are allowed."
        )
    if filename.startswith((".", "-")):
        raise PypiError(f"Invalid filename {filename!r}: must start with a letter or digit.")


def _parse_wheel(filename: str) -> ParsedFilename:
    """Parse a wheel filename with packaging's PEP 427 rules."""
    try:
        name, version, _build, _tags = parse_wheel_filename(filename)
    except InvalidWheelFilename as exc:
        raise PypiError(f"Invalid wheel filename {filename!r}: {exc}") from None
    return ParsedFilename(filename, str(name), version, "bdist_wheel")


def _parse_sdist(filename: str) -> ParsedFilename:
    """Parse an sdist filename (``{name}-{version}.tar.gz`` or the legacy ``.zip``)."""
    if not filename.endswith((".tar.gz", ".zip")):
        # packaging accepts only the lower-case extensions; say so instead of a vague error.
        raise PypiError(_EXTENSION_HELP)
    try:
        name, version = parse_sdist_filename(filename)
    except InvalidSdistFilename as exc:
        raise PypiError(f"Invalid sdist filename {filename!r}: {exc}") from None
    return ParsedFilename(filename, str(name), version, "sdist")
