"""Core metadata: parse METADATA / PKG-INFO into plain data and check it against the filename."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Final

from packaging.metadata import InvalidMetadata, Metadata, RawMetadata, parse_email
from packaging.version import Version

from .archives import read_core_metadata
from .errors import PypiError
from .filenames import ParsedFilename
from .names import normalize

_SPEC_HELP: Final = (
    "See https://packaging.python.org/specifications/core-metadata for more information."
)

# Header spellings (lower-cased) that packaging knows but stores under another raw key; an
# unparsed entry under a known header means a malformed field, not a vendor extension.
_KNOWN_ALIASES: Final = frozenset(
    {
        "home-page", "project-url", "classifier", "platform", "supported-platform",
        "license-file", "provides-extra", "import-name", "import-namespace",
    }
)  # fmt: skip
_KNOWN_HEADERS: Final = _KNOWN_ALIASES | {
    key.replace("_", "-") for key in RawMetadata.__annotations__
}


@dataclass(frozen=True, slots=True)
class CoreMetadata:
    """The core metadata of one distribution, as plain data (lists stay in file order)."""

    metadata_version: str
    name: str
    version: str
    summary: str | None = None
    description: str | None = None
    description_content_type: str | None = None
    keywords: list[str] = field(default_factory=list)
    classifiers: list[str] = field(default_factory=list)
    requires_python: str | None = None
    requires_dist: list[str] = field(default_factory=list)
    provides_extra: list[str] = field(default_factory=list)
    license: str | None = None
    license_expression: str | None = None
    license_files: list[str] = field(default_factory=list)
    author: str | None = None
    author_email: str | None = None
    maintainer: str | None = None
    maintainer_email: str | None = None
    home_page: str | None = None
    download_url: str | None = None
    project_urls: dict[str, str] = field(default_factory=dict)
    platforms: list[str] = field(default_factory=list)
    dynamic: list[str] = field(default_factory=list)

    @property
    def normalized_name(self) -> str:
        """The PEP 503 normalized project name."""
        return normalize(self.name)


@dataclass(frozen=True, slots=True)
class DistributionMetadata:
    """What an upload's file says about itself: the raw metadata file and its parsed form."""

    raw: bytes
    metadata: CoreMetadata


#: The version a file declaring an older one is validated as when it uses newer fields.
NEWEST_METADATA_VERSION = "2.4"


def parse_metadata(data: bytes) -> CoreMetadata:
    """Parse and validate core metadata bytes (email header format) with ``packaging``.

    Unknown extra headers are tolerated; malformed known fields, a missing name or version,
    and anything packaging's validation refuses raise PypiError (400).
    """
    try:
        raw, unparsed = parse_email(data)
    except ValueError as exc:  # undecodable payloads
        raise PypiError(f"Invalid distribution metadata: {exc}. {_SPEC_HELP}") from None
    malformed = sorted(key for key in unparsed if key in _KNOWN_HEADERS)
    if malformed:
        fields = ", ".join(malformed)
        raise PypiError(f"Invalid distribution metadata: malformed field(s) {fields}. {_SPEC_HELP}")
    validated = _validate(raw)
    return _to_core_metadata(raw, validated)


def _validate(raw: RawMetadata) -> Metadata:
    """Run packaging's validation, turning its exception group into one readable message.

    A field newer than the declared ``Metadata-Version`` is tolerated, as PyPI
    does: setuptools wrote ``License-File`` under 2.1 for years, and boto3,
    six or python-dateutil wheels on PyPI still carry it.  Such files are then
    validated as the newest metadata version; every other error still refuses.
    """
    try:
        return Metadata.from_raw(raw, validate=True)
    except ExceptionGroup as group:
        reasons = [exc for exc in _leaves(group) if not _newer_field(exc)]
        if not reasons:
            return _validate({**raw, "metadata_version": NEWEST_METADATA_VERSION})
        text = "; ".join(str(exc) for exc in reasons)
        raise PypiError(f"Invalid distribution metadata: {text}. {_SPEC_HELP}") from None
    except InvalidMetadata as exc:
        raise PypiError(f"Invalid distribution metadata: {exc}. {_SPEC_HELP}") from None


def _newer_field(exc: BaseException) -> bool:
    return isinstance(exc, InvalidMetadata) and "introduced in metadata version" in str(exc)


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    """Flatten an exception group into its leaf exceptions."""
    leaves: list[BaseException] = []
    for exc in group.exceptions:
        leaves.extend(_leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc])
    return leaves


def _to_core_metadata(raw: RawMetadata, validated: Metadata) -> CoreMetadata:
    """Build the plain dataclass: validated identity, the other fields as the file wrote them."""
    return CoreMetadata(
        metadata_version=raw.get("metadata_version", ""),
        name=validated.name,
        version=str(validated.version),
        summary=raw.get("summary"),
        description=raw.get("description"),
        description_content_type=raw.get("description_content_type"),
        keywords=list(raw.get("keywords", [])),
        classifiers=list(raw.get("classifiers", [])),
        requires_python=raw.get("requires_python"),
        requires_dist=list(raw.get("requires_dist", [])),
        provides_extra=list(raw.get("provides_extra", [])),
        license=raw.get("license"),
        license_expression=raw.get("license_expression"),
        license_files=list(raw.get("license_files", [])),
        author=raw.get("author"),
        author_email=raw.get("author_email"),
        maintainer=raw.get("maintainer"),
        maintainer_email=raw.get("maintainer_email"),
        home_page=raw.get("home_page"),
        download_url=raw.get("download_url"),
        project_urls=dict(raw.get("project_urls", {})),
        platforms=list(raw.get("platforms", [])),
        dynamic=list(raw.get("dynamic", [])),
    )


def check_matches_filename(metadata: CoreMetadata, parsed: ParsedFilename) -> None:
    """Refuse metadata whose name or version differs from the filename's (after normalization)."""
    if metadata.normalized_name != parsed.name:
        raise PypiError(
            f"Start filename for {metadata.name!r} with {parsed.name.replace('-', '_')!r}: "
            f"{parsed.filename!r} does not match the metadata name."
        )
    # Version equality, not spelling: 1.0.0rc1 in METADATA is the 1.0rc1 of the filename.
    if Version(metadata.version) != parsed.version:
        raise PypiError(
            f"Version in filename should be {metadata.version!r} not "
            f"{parsed.version_string!r}. See "
            "https://packaging.python.org/specifications/binary-distribution-format "
            "for more information."
        )


def load_distribution_metadata(
    path: str | os.PathLike[str], parsed: ParsedFilename
) -> DistributionMetadata:
    """Extract, parse and cross-check the core metadata of the distribution file at ``path``."""
    raw = read_core_metadata(path, parsed)
    metadata = parse_metadata(raw)
    check_matches_filename(metadata, parsed)
    return DistributionMetadata(raw=raw, metadata=metadata)
