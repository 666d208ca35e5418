"""The public names of ``artifortress.plugin`` change only deliberately, with the API version.

ADDED_IN records, per API version, the names that version added to ``__all__``.
Adding a name: put it under a new key for the next minor version (1.0.0 -> 1.1.0)
and bump ``API_VERSION`` in artifortress/plugin/api_version.py to match.
Renaming or retiring a name: keep the old one working (``_DEPRECATED_ALIASES``,
which warns) until the next major version, then list it in REMOVED_IN under that
major version (2.0.0) and bump ``API_VERSION``'s major. See docs/plugins.md.
"""

from __future__ import annotations

import warnings

import artifortress.plugin
from artifortress.plugin import API_VERSION
from artifortress.plugin.api_version import parse_version

ADDED_IN: dict[str, frozenset[str]] = {
    "1.0.0": frozenset(
        {
            "API_VERSION",
            "API_VERSION_INFO",
            "ArtifactInfo",
            "ArtifortressError",
            "BadRequest",
            "BlobRef",
            "Conflict",
            "Event",
            "FormatSpec",
            "Gateway",
            "Gone",
            "NewFile",
            "NotFound",
            "PackageInfo",
            "PayloadTooLarge",
            "Permission",
            "PermissionDenied",
            "PluginRoute",
            "PolicyDecision",
            "PolicyRejected",
            "PolicyRequest",
            "Principal",
            "Rendered",
            "RepoInfo",
            "SearchHit",
            "SearchResults",
            "ServiceUnavailable",
            "TokenInfo",
            "Unauthenticated",
            "UnsupportedMediaType",
            "ValidationFailed",
            "VersionInfo",
            "authenticated",
            "clean_name",
            "error_for_status",
            "hookimpl",
            "public",
            "raised_as",
            "read_json",
            "requires",
        }
    ),
    # No new names: Gateway.read_body() and requires(..., publishes=True) are new;
    # Gateway.end_transaction() and Gateway.reading() are deprecated (they warn).
    "1.1.0": frozenset(),
    # No new names: Gateway.restore() and Gateway.promote() are new, and the core
    # answers HEAD on every plugin route that answers GET.
    "1.2.0": frozenset(),
    # Remote repositories: Gateway.upstream_document() and upstream_file() are new,
    # and FormatSpec.prefetch (with Prefetch) pre-warms them from lock files;
    # RecentCache keeps what a plugin read from a document, per process;
    # Gateway.lock_package() guards a change computed from earlier reads.
    "1.3.0": frozenset(
        {
            "HOSTED",
            "Prefetch",
            "RecentCache",
            "REMOTE",
            "VIRTUAL",
            "UpstreamDocument",
            "UpstreamMismatch",
            "UpstreamUnavailable",
        }
    ),
    # Attestations: Gateway.verify_attestation() verifies a sigstore bundle offline.
    "1.4.0": frozenset({"AttestationResult", "SigningIdentity"}),
    # Gateway.versions(light=True): no new names.
    "1.5.0": frozenset(),
}
REMOVED_IN: dict[str, frozenset[str]] = {}


def _recorded_names() -> set[str]:
    added = set().union(*ADDED_IN.values())
    removed = set().union(*REMOVED_IN.values())
    return added - removed


def _latest(versions: dict[str, frozenset[str]]) -> str:
    return max(versions, key=parse_version)


def test_no_public_name_disappears_without_a_major_version() -> None:
    gone = _recorded_names() - set(artifortress.plugin.__all__)
    assert not gone, (
        f"artifortress.plugin no longer exports {sorted(gone)}: plugins import these. "
        "Deprecate instead (docs/plugins.md), or list them in REMOVED_IN of a new major version"
    )


def test_every_new_public_name_is_recorded_with_a_version() -> None:
    new = set(artifortress.plugin.__all__) - _recorded_names()
    assert not new, (
        f"artifortress.plugin exports {sorted(new)} unrecorded: add them to ADDED_IN under "
        "the next minor version and bump API_VERSION to it"
    )


def test_the_api_version_is_the_latest_recorded_change() -> None:
    assert _latest({**ADDED_IN, **REMOVED_IN}) == API_VERSION


def test_removals_only_happen_in_major_versions() -> None:
    for version in REMOVED_IN:
        _major, minor, patch = parse_version(version)
        assert (minor, patch) == (0, 0), f"{version} removes names but is not a major version"


def test_every_public_name_resolves() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # deprecated names still count
        missing = [n for n in artifortress.plugin.__all__ if not hasattr(artifortress.plugin, n)]
    assert not missing
