"""The built-in policies, each an internal plugin of ``artifortress_evaluate_policy``.

They read the repository's settings (``PUT /v1/repos/{repo}/policy``) and do
nothing for a setting left unset:

- ``max_artifact_size``: reject a version with a larger file;
- ``allowed_licenses``: reject a version whose declared license (PEP 639
  ``License-Expression``, an SPDX ``license``, npm's legacy forms or the
  ``License ::`` classifiers; see :mod:`artifortress.policy.licenses`) is not
  permitted by the list (``OR`` needs one listed operand, ``AND`` all), or missing;
- ``blocked_name_patterns``: reject names matching a shell-style pattern (``evil-*``);
- ``typosquat``: quarantine a new package whose name is within a small
  Damerau-Levenshtein distance of a package the tenant already published
  (numbered siblings such as ``tool1``/``tool2`` excepted);
- ``require_verified_provenance``: reject a version with a file (companions
  such as core metadata or the provenance itself aside) whose attestation is
  missing or unverified (see :mod:`artifortress.attestations`).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from typing import Any

import pluggy

from artifortress import hookimpl
from artifortress.policy.decisions import PolicyDecision, PolicyRequest
from artifortress.policy.licenses import declared_license, refused_licenses

#: Names shorter than this are not checked for typosquatting (too many near neighbours).
TYPOSQUAT_MIN_LENGTH = 4
_SEPARATORS = re.compile(r"[-_.]+")
_DIGITS = re.compile(r"[0-9]+")


class MaxArtifactSize:
    name = "max_artifact_size"

    @hookimpl
    def artifortress_evaluate_policy(self, request: PolicyRequest) -> PolicyDecision | None:
        limit = request.config.get(self.name)
        if not isinstance(limit, int):
            return None
        too_big = [a for a in request.version.artifacts if a.size > limit]
        if too_big:
            names = ", ".join(f"{a.filename} ({a.size} bytes)" for a in too_big)
            return PolicyDecision.reject(
                f"files larger than {limit} bytes are not allowed: {names}", self.name
            )
        return PolicyDecision.allow(self.name)


class AllowedLicenses:
    name = "allowed_licenses"

    @hookimpl
    def artifortress_evaluate_policy(self, request: PolicyRequest) -> PolicyDecision | None:
        allowed = request.config.get(self.name)
        if not isinstance(allowed, list):
            return None
        listed = ", ".join(str(item) for item in allowed)
        declared = declared_license(request.version.metadata)
        if declared is None:
            return PolicyDecision.reject(
                f"the package declares no license; allowed: {listed}", self.name
            )
        refused = refused_licenses(declared, (str(item) for item in allowed))
        if refused:
            return PolicyDecision.reject(
                f"license {shortened(declared.text)!r} (from {declared.source}) is not allowed "
                f"here: {', '.join(shortened(r) for r in refused)} is not in the allowed list; "
                f"allowed: {listed}",
                self.name,
            )
        return PolicyDecision.allow(self.name)


def shortened(text: str, limit: int = 80) -> str:
    """*text* cut to *limit* characters: some legacy license fields hold a whole license."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


class BlockedNames:
    name = "blocked_name_patterns"

    @hookimpl
    def artifortress_evaluate_policy(self, request: PolicyRequest) -> PolicyDecision | None:
        patterns = request.config.get(self.name)
        if not isinstance(patterns, list) or not patterns:
            return None
        version = request.version
        for candidate in {version.package.casefold(), version.display_name.casefold()}:
            for pattern in patterns:
                if fnmatch.fnmatchcase(candidate, str(pattern).casefold()):
                    return PolicyDecision.reject(
                        f"package names matching {pattern!r} are blocked in {request.repo.key}",
                        self.name,
                    )
        return PolicyDecision.allow(self.name)


class Typosquat:
    name = "typosquat"

    @hookimpl
    def artifortress_evaluate_policy(self, request: PolicyRequest) -> PolicyDecision | None:
        if not request.config.get(self.name) or not request.new_package:
            return None
        name = request.version.package
        limit = typosquat_distance(name, request.config.get("typosquat_distance"))
        if limit < 1:
            return None
        for other in request.existing_names(limit):
            distance = name_distance(name, other, limit)
            if distance <= limit:
                return PolicyDecision.quarantine(
                    f"new package {name!r} is within edit distance {distance} of the existing "
                    f"package {other!r}; an administrator must release it",
                    self.name,
                )
        return PolicyDecision.allow(self.name)


def typosquat_distance(name: str, configured: Any = None) -> int:
    """How close a new name may come to an existing one: 1 up to 8 characters, else 2."""
    if isinstance(configured, int):
        return configured
    if len(name) < TYPOSQUAT_MIN_LENGTH:
        return 0
    return 1 if len(name) <= 8 else 2


def name_distance(a: str, b: str, limit: int) -> int:
    """Edit distance of two names, as far as typosquatting goes.

    Names equal but for separators (``left-pad``, ``leftpad``) count as 1.
    Numbered siblings (``tool1`` and ``tool2``, ``py2x`` and ``py3x``) are
    unrelated (``limit + 1``): series like these are common and harmless,
    while ``requests2`` next to ``requests`` still counts.
    """
    a, b = a.casefold(), b.casefold()
    if a == b:
        return 0
    if _SEPARATORS.sub("", a) == _SEPARATORS.sub("", b):
        return 1
    if _DIGITS.search(a) and _DIGITS.search(b) and _DIGITS.sub("", a) == _DIGITS.sub("", b):
        return limit + 1
    return damerau_levenshtein(a, b, limit)


def damerau_levenshtein(a: str, b: str, limit: int | None = None) -> int:
    """Optimal string alignment distance (adjacent transpositions cost 1).

    With *limit*, returns ``limit + 1`` as soon as the distance must exceed it.
    """
    if limit is not None and abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, start=1):
            cost = 0 if char_a == char_b else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if limit is not None and min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[len(b)]


class RequireVerifiedProvenance:
    """Every installable file must carry a verified attestation (``metadata["attestation"]``).

    Plugins store the result of ``Gateway.verify_attestation`` there; companion
    files (a ``role`` in their metadata) are described by it, not attested.
    """

    name = "require_verified_provenance"

    @hookimpl
    def artifortress_evaluate_policy(self, request: PolicyRequest) -> PolicyDecision | None:
        if request.config.get(self.name) is not True:
            return None
        unproven = [
            f"{artifact.filename} ({_unverified_reason(artifact.metadata)})"
            for artifact in request.version.artifacts
            if request.is_new(artifact.filename)  # files published before stay as they are
            and not artifact.metadata.get("role")
            and _unverified_reason(artifact.metadata) is not None
        ]
        if unproven:
            return PolicyDecision.reject(
                f"{request.repo.key} accepts only files with verified provenance (a sigstore "
                f"attestation: twine upload --attestations, npm publish --provenance); "
                f"not verified: {'; '.join(unproven)}",
                self.name,
            )
        return PolicyDecision.allow(self.name)


def _unverified_reason(metadata: Mapping[str, Any]) -> str | None:
    """Why a file's provenance is not verified; None when it is."""
    attestation = metadata.get("attestation")
    if not isinstance(attestation, Mapping):
        return "no attestation"
    if attestation.get("verified") is True:
        return None
    return shortened(str(attestation.get("reason") or "attestation not verified"), 200)


BUILTIN_POLICIES = (
    MaxArtifactSize(),
    AllowedLicenses(),
    BlockedNames(),
    Typosquat(),
    RequireVerifiedProvenance(),
)


def register_builtin_policies(pm: pluggy.PluginManager) -> None:
    """Register each built-in policy as an internal plugin named ``artifortress.policy.<name>``."""
    for policy in BUILTIN_POLICIES:
        name = f"artifortress.policy.{policy.name}"
        if pm.get_plugin(name) is None:
            pm.register(policy, name=name)
