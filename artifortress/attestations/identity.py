"""Who signed: the CI identity Fulcio wrote into a signing certificate, and matching it.

Fulcio records the OIDC token's claims as certificate extensions under
1.3.6.1.4.1.57264.1 (see Fulcio's ``docs/oid-info.md``); the ones read here say
which issuer, source repository, workflow file and ref the signature came from.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat import asn1

_FULCIO = "1.3.6.1.4.1.57264.1."
ISSUER_V1 = _FULCIO + "1"  # raw bytes (deprecated, still written)
ISSUER = _FULCIO + "8"
SOURCE_REPOSITORY_URI = _FULCIO + "12"
SOURCE_REPOSITORY_DIGEST = _FULCIO + "13"
SOURCE_REPOSITORY_REF = _FULCIO + "14"
BUILD_CONFIG_URI = _FULCIO + "18"
RUN_INVOCATION_URI = _FULCIO + "21"

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
GITLAB_ISSUER = "https://gitlab.com"
_KINDS = {GITHUB_ISSUER: "GitHub", GITLAB_ISSUER: "GitLab"}


@dataclasses.dataclass(frozen=True)
class SigningIdentity:
    """The CI run a signing certificate was issued to (empty strings for absent claims)."""

    issuer: str
    #: ``GitHub``, ``GitLab`` (the PEP 740 publisher kinds) or ``other``.
    kind: str
    #: ``owner/name`` (GitLab: ``group/subgroup/name``).
    repository: str
    #: The workflow file's name (GitHub) or path (GitLab), as trusted publishers name it.
    workflow: str
    #: The workflow file's path in the repository (``.github/workflows/release.yml``).
    workflow_path: str
    ref: str
    commit: str
    build_config_uri: str
    run_invocation_uri: str
    #: The certificate's subject: a workflow URI for CI, an e-mail address for a person.
    san: str = ""

    def as_json(self) -> dict[str, str]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SigningIdentity:
        names = [f.name for f in dataclasses.fields(cls)]
        return cls(**{name: str(data.get(name) or "") for name in names})


def identity_of(certificate: x509.Certificate) -> SigningIdentity:
    """The identity in a Fulcio certificate's extensions."""
    claims = _claims(certificate)
    issuer = claims.get(ISSUER) or claims.get(ISSUER_V1, "")
    build_config = claims.get(BUILD_CONFIG_URI, "")
    workflow_path = _workflow_path(build_config)
    kind = _KINDS.get(issuer, "other")
    return SigningIdentity(
        issuer=issuer,
        kind=kind,
        repository=_repository(claims.get(SOURCE_REPOSITORY_URI, "")),
        workflow=workflow_path.rsplit("/", 1)[-1] if kind == "GitHub" else workflow_path,
        workflow_path=workflow_path,
        ref=claims.get(SOURCE_REPOSITORY_REF, ""),
        commit=claims.get(SOURCE_REPOSITORY_DIGEST, ""),
        build_config_uri=build_config,
        run_invocation_uri=claims.get(RUN_INVOCATION_URI, ""),
        san=_subject_alternative_name(certificate),
    )


def _subject_alternative_name(certificate: x509.Certificate) -> str:
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ""
    found = names.get_values_for_type(x509.UniformResourceIdentifier) or names.get_values_for_type(
        x509.RFC822Name
    )
    return found[0] if found else ""


def publisher_mismatch(identity: SigningIdentity, publisher: Mapping[str, str]) -> str | None:
    """Why *identity* is not the trusted *publisher* a token was minted for (None: it is).

    Compared: the issuer (exact), the repository (case-blind, as GitHub names are)
    and the workflow, which a publisher may give as a file name, a path, or a
    ``owner/repo/path@ref`` workflow reference.
    """
    issuer = publisher.get("issuer")
    if issuer and issuer.rstrip("/") != identity.issuer.rstrip("/"):
        return f"it was signed through issuer {identity.issuer}, not {issuer}"
    repository = _repository(publisher.get("repository", ""))
    if repository and repository.casefold() != identity.repository.casefold():
        return f"it was signed by repository {identity.repository!r}, not {repository!r}"
    workflow = publisher.get("workflow", "").split("@", 1)[0].strip("/")
    if workflow and not _same_workflow(identity, workflow):
        return f"it was signed by workflow {identity.workflow_path!r}, not {workflow!r}"
    return None


def _same_workflow(identity: SigningIdentity, workflow: str) -> bool:
    known = {
        identity.workflow,
        identity.workflow_path,
        f"{identity.repository}/{identity.workflow_path}",
    }
    return workflow.casefold() in {name.casefold() for name in known if name}


def _claims(certificate: x509.Certificate) -> dict[str, str]:
    claims: dict[str, str] = {}
    for extension in certificate.extensions:
        oid = extension.oid.dotted_string
        if not oid.startswith(_FULCIO) or not isinstance(
            extension.value, x509.UnrecognizedExtension
        ):
            continue
        raw = extension.value.value
        try:  # 1.8 onwards: a DER UTF8String; 1.1 to 1.6: the raw bytes
            claims[oid] = asn1.decode_der(str, raw) if oid != ISSUER_V1 else raw.decode()
        except (ValueError, UnicodeDecodeError):
            continue
    return claims


def _repository(uri: str) -> str:
    """``owner/name`` of ``https://github.com/owner/name`` (or of ``github.com/owner/name``)."""
    if "://" in uri:
        return urlsplit(uri).path.strip("/")
    host, _, rest = uri.strip("/").partition("/")
    return rest if "." in host and rest else uri.strip("/")


def _workflow_path(build_config_uri: str) -> str:
    """The file of ``https://github.com/o/r/.github/workflows/x.yml@ref``.

    GitLab's URI separates project and file with an empty segment: ``o/r//path@ref``.
    """
    if not build_config_uri:
        return ""
    path = urlsplit(build_config_uri).path.split("@", 1)[0]
    if "//" in path:  # GitLab separates the project from the file with an empty segment
        return path.split("//", 1)[1]
    parts = path.strip("/").split("/")
    return "/".join(parts[2:])  # after owner/name
