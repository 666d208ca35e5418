"""The legacy upload form (twine, uv publish, poetry): validate its fields against the file."""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from packaging.version import InvalidVersion, Version

from .digests import FileDigests
from .errors import PypiError
from .filenames import ParsedFilename
from .names import normalize

FormFields = Mapping[str, "str | list[str]"]

_SPEC_HELP: Final = (
    "See https://packaging.python.org/specifications/core-metadata for more information."
)
_HEX_DIGEST: Final = {
    "sha256_digest": re.compile(r"[0-9a-fA-F]{64}"),
    "blake2_256_digest": re.compile(r"[0-9a-fA-F]{64}"),
    "md5_digest": re.compile(r"[0-9a-fA-F]{32}"),
}
_FILETYPES: Final = frozenset({"bdist_wheel", "sdist"})
# Fields consumed here; everything else is metadata the client copied from the file.
_CONTROL_FIELDS: Final = frozenset(
    {":action", "protocol_version", "name", "version", "filetype", "pyversion",
     "metadata_version", "attestations", "comment", *_HEX_DIGEST}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class UploadForm:
    """A validated upload request: who the file claims to be, plus the rest of the form."""

    name: str
    version: str
    filetype: str
    pyversion: str | None
    metadata_version: str | None
    comment: str | None
    sent_digests: dict[str, str]
    attestations: str | None
    metadata_fields: dict[str, str | list[str]] = field(default_factory=dict)


def validate_upload_form(
    fields: FormFields, parsed: ParsedFilename, digests: FileDigests
) -> UploadForm:
    """Check the form against the received file, as warehouse does, or raise PypiError.

    ``:action`` must be ``file_upload`` and ``protocol_version`` 1; name, version and filetype
    must agree with the filename; every digest the client sent must equal the server's; the
    optional PEP 740 ``attestations`` must be a non-empty JSON array of objects.
    """
    _check_action(fields)
    name = _required(fields, "name", "Name")
    version = _required(fields, "version", "Version")
    filetype = _required(fields, "filetype", "filetype")
    _check_identity(name, version, parsed)
    _check_filetype(filetype, parsed)
    return UploadForm(
        name=name,
        version=version,
        filetype=filetype,
        pyversion=_optional(fields, "pyversion"),
        metadata_version=_optional(fields, "metadata_version"),
        comment=_optional(fields, "comment"),
        sent_digests=_check_digests(fields, digests),
        attestations=_check_attestations(_optional(fields, "attestations")),
        metadata_fields={k: v for k, v in fields.items() if k not in _CONTROL_FIELDS},
    )


def _check_action(fields: FormFields) -> None:
    """Accept only file uploads over protocol version 1, with warehouse's wording otherwise."""
    action = _optional(fields, ":action")
    if action == "submit":
        raise PypiError(
            "Project pre-registration is no longer required or supported, "
            "upload your files instead.",
            410,
        )
    if action != "file_upload":
        raise PypiError(f"Unsupported ':action' {action!r}: only 'file_upload' is accepted.")
    if _optional(fields, "protocol_version") not in (None, "1"):
        raise PypiError("Unknown protocol version.")


def _single(fields: FormFields, key: str) -> str | None:
    """Return a field's one value; a field repeated with different values is refused."""
    value = fields.get(key)
    if isinstance(value, list):
        if len(set(value)) > 1:
            raise PypiError(f"Invalid value for {key}. Error: expected a single value.")
        value = value[0] if value else None
    return value


def _optional(fields: FormFields, key: str) -> str | None:
    """Return a single-valued field stripped, or None when absent or blank."""
    value = _single(fields, key)
    if value is None or not value.strip():
        return None
    return value.strip()


def _required(fields: FormFields, key: str, label: str) -> str:
    """Return a single-valued field or refuse the upload with warehouse's wording."""
    value = _optional(fields, key)
    if value is None:
        raise PypiError(
            f"'' is an invalid value for {label}. Error: This field is required. {_SPEC_HELP}"
        )
    return value


def _check_identity(name: str, version: str, parsed: ParsedFilename) -> None:
    """The form's name and version must be the filename's, compared normalized."""
    if normalize(name) != parsed.name:
        raise PypiError(
            f"Start filename for {name!r} with {parsed.name.replace('-', '_')!r}: "
            f"{parsed.filename!r} does not belong to project {name!r}."
        )
    try:
        form_version = Version(version)
    except InvalidVersion:
        raise PypiError(
            f"{version!r} is an invalid value for Version. Error: Start and end "
            "with a letter or numeral containing only ASCII numeric and '.', '_' "
            f"and '-'. {_SPEC_HELP}"
        ) from None
    if form_version != parsed.version:
        raise PypiError(
            f"Version in filename should be {str(form_version)!r} not "
            f"{parsed.version_string!r}. See "
            "https://packaging.python.org/specifications/binary-distribution-format "
            "for more information."
        )


def _check_filetype(filetype: str, parsed: ParsedFilename) -> None:
    """Only wheels and sdists are accepted, and the declared type must match the filename."""
    if filetype not in _FILETYPES:
        raise PypiError("Invalid value for filetype. Error: Use a known file type.")
    if filetype != parsed.kind:
        raise PypiError(
            f"Invalid value for filetype. Error: {parsed.filename!r} is a {parsed.kind}, "
            f"not a {filetype}."
        )


def _check_digests(fields: FormFields, digests: FileDigests) -> dict[str, str]:
    """Every digest the client sent must match the server's; at least one must be sent."""
    computed = {
        "sha256_digest": digests.sha256,
        "md5_digest": digests.md5,
        "blake2_256_digest": digests.blake2_256,
    }
    sent: dict[str, str] = {}
    for key, pattern in _HEX_DIGEST.items():
        value = _optional(fields, key)
        if value is None:
            continue
        if pattern.fullmatch(value) is None:
            raise PypiError(f"Invalid value for {key}. Error: Must be a valid, hex encoded digest.")
        if not hmac.compare_digest(value.lower(), computed[key]):
            raise PypiError(
                "The digest supplied does not match a digest calculated from the uploaded file."
            )
        sent[key] = value.lower()
    if not sent:
        raise PypiError("Include at least one message digest.")
    return sent


def _check_attestations(text: str | None) -> str | None:
    """Return the PEP 740 attestations JSON text untouched, after checking its shape."""
    if text is None:
        return None
    try:
        parsed = json.loads(text)
    except ValueError as exc:
        raise PypiError(f"Invalid attestations supplied during upload: {exc}") from None
    except RecursionError:  # "[" repeated nests deeper than the parser goes
        raise PypiError("Invalid attestations supplied during upload: nested too deeply.") from None
    if not isinstance(parsed, list) or not parsed:
        raise PypiError(
            "Invalid attestations supplied during upload: expected a non-empty JSON array."
        )
    if not all(isinstance(item, dict) for item in parsed):
        raise PypiError(
            "Invalid attestations supplied during upload: each attestation must be a JSON object."
        )
    return text
