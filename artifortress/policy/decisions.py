"""What a policy sees (:class:`PolicyRequest`) and answers (:class:`PolicyDecision`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from artifortress.repos.views import RepoInfo
    from artifortress.versions.views import VersionInfo

ALLOW = "allow"
QUARANTINE = "quarantine"
REJECT = "reject"
_SEVERITY = {ALLOW: 0, QUARANTINE: 1, REJECT: 2}


@dataclasses.dataclass(frozen=True)
class PolicyDecision:
    """One policy's answer; build it with :meth:`allow`, :meth:`quarantine` or :meth:`reject`."""

    action: str
    reason: str = ""
    #: Which policy decided (shown to administrators in the quarantine list).
    policy: str = ""

    def __post_init__(self) -> None:
        if self.action not in _SEVERITY:
            raise ValueError(f"unknown policy action {self.action!r}")
        if self.action != ALLOW and not self.reason:
            raise ValueError(f"a {self.action} decision needs a reason")

    @classmethod
    def allow(cls, policy: str = "") -> PolicyDecision:
        return cls(ALLOW, "", policy)

    @classmethod
    def quarantine(cls, reason: str, policy: str = "") -> PolicyDecision:
        """Publish, but keep the version invisible until an administrator releases it."""
        return cls(QUARANTINE, reason, policy)

    @classmethod
    def reject(cls, reason: str, policy: str = "") -> PolicyDecision:
        """Refuse the publish: nothing is stored and the client sees *reason*."""
        return cls(REJECT, reason, policy)


class PolicyRequest:
    """A version about to be published, with its repository's policy settings.

    ``version`` is still a draft (``state == "draft"``) carrying every file.
    ``new_package`` is true when no repository of the tenant holds a
    published (or otherwise sealed) version of this name yet. ``new_files``
    names the files a publish adds to an already published version (PyPI
    releases gaining wheels); ``None`` when the whole version is new.
    """

    def __init__(
        self,
        repo: RepoInfo,
        version: VersionInfo,
        config: Mapping[str, Any],
        *,
        new_package: bool,
        tenant_names: Callable[[int], Sequence[str]],
        new_files: frozenset[str] | None = None,
    ) -> None:
        self.repo = repo
        self.version = version
        self.config = config
        self.new_package = new_package
        self.new_files = new_files
        self._tenant_names = tenant_names

    def is_new(self, filename: str) -> bool:
        """Whether this publish brings the file (every file of a new version is new)."""
        return self.new_files is None or filename in self.new_files

    def existing_names(self, max_length_difference: int = 2) -> Sequence[str]:
        """Names of the tenant's other packages with sealed versions, of a similar length.

        Queried on first use only, so policies that do not need it cost nothing.
        """
        return self._tenant_names(max_length_difference)


@dataclasses.dataclass(frozen=True)
class Verdict:
    """All policies' answers combined: the most severe action and every reason behind it."""

    action: str
    reasons: tuple[PolicyDecision, ...]

    @property
    def message(self) -> str:
        return "; ".join(f"{d.policy}: {d.reason}" if d.policy else d.reason for d in self.reasons)


def combine(decisions: Iterable[PolicyDecision | None]) -> Verdict:
    """Any reject wins, else any quarantine, else allow; reasons of the winning action kept."""
    given = [d for d in decisions if isinstance(d, PolicyDecision)]
    action = max((d.action for d in given), key=_SEVERITY.__getitem__, default=ALLOW)
    return Verdict(action, tuple(d for d in given if d.action == action and action != ALLOW))
