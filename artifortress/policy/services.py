"""Evaluating policies at publish time, repository policy settings, the quarantine workflow.

``evaluate`` runs inside the publish transaction, before the version is
sealed, and is the only hook called there on purpose: it is a decision the
publish depends on, not a side effect.  A reject raises :class:`PolicyRejected`
(the publish stores nothing); a quarantine seals the version as
``quarantined``, invisible to every client view, until a tenant
administrator releases (``published``) or rejects (``rejected``) it.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import pluggy
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from artifortress import changes
from artifortress.auth.principal import Caller
from artifortress.db.base import iso, utcnow
from artifortress.errors import Conflict, NotFound, PolicyRejected
from artifortress.outbox.events import (
    QUARANTINE_REJECTED,
    QUARANTINE_RELEASED,
    VERSION_PUBLISHED,
    VERSION_QUARANTINED,
)
from artifortress.policy.decisions import (
    ALLOW,
    QUARANTINE,
    REJECT,
    PolicyRequest,
    Verdict,
    combine,
)
from artifortress.policy.models import PENDING, RELEASED, QuarantineEntry, RepositoryPolicy
from artifortress.policy.models import REJECTED as ENTRY_REJECTED
from artifortress.repos.models import Repository
from artifortress.repos.views import repo_info
from artifortress.versions.labels import set_label
from artifortress.versions.models import (
    PUBLISHED,
    QUARANTINED,
    REJECTED,
    TOMBSTONED,
    Package,
    Version,
)
from artifortress.versions.views import version_info

#: The settings a repository without a stored policy has: nothing enforced.
DEFAULT_CONFIG: dict[str, Any] = {
    "max_artifact_size": None,
    "allowed_licenses": None,
    "blocked_name_patterns": [],
    "typosquat": False,
    "typosquat_distance": None,
    "require_verified_provenance": False,
    "extra": {},
}


# -- settings --------------------------------------------------------------------------


def get_config(db: Session, repository_id: int) -> dict[str, Any]:
    stored = db.get(RepositoryPolicy, repository_id)
    return {**DEFAULT_CONFIG, **(stored.config if stored is not None else {})}


def set_config(
    db: Session, caller: Caller, repo: Repository, config: dict[str, Any]
) -> dict[str, Any]:
    """Replace the repository's policy settings (unset keys fall back to off); audited."""
    stored = db.get(RepositoryPolicy, repo.id)
    if stored is None:
        stored = RepositoryPolicy(repository_id=repo.id, updated_by=caller.principal.name)
        db.add(stored)
    stored.config = dict(config)
    stored.updated_at = utcnow()
    stored.updated_by = caller.principal.name
    changes.of(db).audit(caller, "policy.set", repo_key=repo.key, config=config)
    return get_config_of(stored)


def get_config_of(stored: RepositoryPolicy) -> dict[str, Any]:
    return {**DEFAULT_CONFIG, **stored.config}


# -- evaluation ------------------------------------------------------------------------


@functools.cache
def builtin_manager() -> pluggy.PluginManager:
    """Hook specs plus the built-in policies: for publishes made without the app's plugins."""
    from artifortress.plugin_manager import make_plugin_manager

    return make_plugin_manager(entry_points=False)


def evaluate(
    db: Session, repo: Repository, draft: Version, plugins: pluggy.PluginManager | None
) -> Verdict:
    """Ask every policy about *draft*; raise :class:`PolicyRejected` on a reject."""
    pm = plugins if plugins is not None else builtin_manager()
    if not can_refuse(db, repo.id, pm):  # nothing to ask: skip the tenant-wide name lookups
        return combine(())
    package = draft.package
    request = PolicyRequest(
        repo_info(repo),
        version_info(draft),
        get_config(db, repo.id),
        new_package=not _name_taken(db, repo.tenant_id, package.name),
        tenant_names=lambda spread: _tenant_names(db, repo.tenant_id, package.name, spread),
    )
    verdict = combine(pm.hook.artifortress_evaluate_policy(request=request))
    if verdict.action == REJECT:
        raise PolicyRejected(
            f"refused by policy: {verdict.message}",
            reasons=[{"policy": d.policy, "reason": d.reason} for d in verdict.reasons],
        )
    return verdict


def can_refuse(db: Session, repository_id: int, plugins: pluggy.PluginManager) -> bool:
    """Whether any policy could refuse or hold a version of the repository.

    ``False`` only when every built-in setting is off and no other plugin
    judges publishes: then a publish asks no policy, and a version's bytes,
    once verified, need not wait for the publish's verdict (a remote's fetch
    lets them out before it stores them).  A setting is on unless it is off or
    its default, whatever its truth (``max_artifact_size: 0`` refuses every file).
    """
    from artifortress.policy.builtin import BUILTIN_POLICIES

    builtin = {id(policy) for policy in BUILTIN_POLICIES}
    hookimpls = plugins.hook.artifortress_evaluate_policy.get_hookimpls()
    if any(id(impl.plugin) not in builtin for impl in hookimpls):
        return True
    config = get_config(db, repository_id)
    return any(
        _set(config.get(setting), default)
        for setting, default in DEFAULT_CONFIG.items()
        if setting != "extra"  # read by plugins' policies only, counted above
    )


def _set(value: Any, default: Any) -> bool:
    """Whether a built-in setting is on: anything but off (``None``, ``False``) or its default.

    Not its truth: ``max_artifact_size: 0`` and ``allowed_licenses: []`` refuse
    every file.
    """
    return value is not None and value is not False and value != default


def check_append(
    db: Session,
    version: Version,
    plugins: pluggy.PluginManager | None,
    new_files: Sequence[str] | None = None,
) -> None:
    """Judge a published version that just gained files (PyPI adds wheels to a release).

    A published version cannot be held back, so a quarantine refuses the new
    files just as a reject does: the size limit cannot be dodged by appending.
    """
    repo = db.get(Repository, version.repository_id)
    assert repo is not None
    pm = plugins if plugins is not None else builtin_manager()
    if not can_refuse(db, repo.id, pm):
        return
    request = PolicyRequest(
        repo_info(repo),
        version_info(version),
        get_config(db, repo.id),
        new_package=False,
        tenant_names=lambda spread: (),
        new_files=frozenset(new_files) if new_files is not None else None,
    )
    verdict = combine(pm.hook.artifortress_evaluate_policy(request=request))
    if verdict.action != ALLOW:
        raise PolicyRejected(
            f"refused by policy: {verdict.message}",
            reasons=[{"policy": d.policy, "reason": d.reason} for d in verdict.reasons],
        )


def _sealed_names(tenant_id: int) -> Any:
    """Names the tenant really has: published (or deleted) once, not merely held or refused."""
    return (
        select(Package.name)
        .join(Repository, Repository.id == Package.repository_id)
        .join(Version, Version.package_id == Package.id)
        .where(Repository.tenant_id == tenant_id, Version.state.in_((PUBLISHED, TOMBSTONED)))
    )


def _name_taken(db: Session, tenant_id: int, name: str) -> bool:
    return (
        db.scalars(_sealed_names(tenant_id).where(Package.name == name).limit(1)).first()
        is not None
    )


def _tenant_names(db: Session, tenant_id: int, name: str, spread: int) -> Sequence[str]:
    length = func.length(Package.name)
    stmt = (
        _sealed_names(tenant_id)
        .where(Package.name != name, length.between(len(name) - spread, len(name) + spread))
        .distinct()
        .order_by(Package.name)
    )
    return list(db.scalars(stmt))


def is_quarantined(verdict: Verdict) -> bool:
    return verdict.action == QUARANTINE


# -- quarantine ------------------------------------------------------------------------


def quarantine(
    db: Session,
    caller: Caller,
    repo: Repository,
    version: Version,
    verdict: Verdict,
    labels: Sequence[str] = (),
) -> QuarantineEntry:
    """Register a version a policy held back (already sealed as quarantined); audited, emitted.

    *labels*, which the publish asked to point at the version, are kept for its release.
    """
    reasons = [{"policy": d.policy, "reason": d.reason} for d in verdict.reasons]
    entry = QuarantineEntry(
        tenant_id=repo.tenant_id,
        repository_id=repo.id,
        version_id=version.id,
        reasons=reasons,
        state=PENDING,
        created_by=caller.principal.name,
        labels=list(labels) or None,
    )
    db.add(entry)
    db.flush()
    target = f"{version.package.name}@{version.version}"
    # Policy names only in the audit row and the event (repository admins and webhook
    # receivers see those): a typosquat reason names another package, maybe a private one.
    policies = sorted({d.policy for d in verdict.reasons})
    change = changes.of(db)
    change.audit(caller, "version.quarantine", repo_key=repo.key, target=target, policies=policies)
    change.version_event(
        VERSION_QUARANTINED,
        version,
        repo,
        caller,
        visible=False,
        quarantine_id=entry.id,
        policies=policies,
    )
    return entry


def get_entry(db: Session, caller: Caller, entry_id: int) -> QuarantineEntry:
    """The tenant's quarantine entry, locked for the decision (404 for other tenants' ids)."""
    entry = db.scalars(
        select(QuarantineEntry).where(QuarantineEntry.id == entry_id).with_for_update()
    ).one_or_none()
    if entry is None or entry.tenant_id != caller.principal.tenant_id:
        raise NotFound(f"no quarantined version {entry_id}")
    return entry


Decided = tuple[QuarantineEntry, Version, Repository]


def release(db: Session, caller: Caller, entry_id: int) -> Decided:
    """Publish a quarantined version: visible from this commit on; audited, emitted.

    It ends as its publish would have left it unheld: with the labels the publish asked for.
    """
    entry, version, repo = _pending(db, caller, entry_id)
    version.state = PUBLISHED
    _decide(entry, caller, RELEASED, None)
    change = changes.of(db)
    target = f"{version.package.name}@{version.version}"
    change.audit(caller, "quarantine.release", repo_key=repo.key, target=target)
    change.version_event(QUARANTINE_RELEASED, version, repo, caller, quarantine_id=entry.id)
    change.version_event(VERSION_PUBLISHED, version, repo, caller, released_from_quarantine=True)
    for label in entry.labels or ():
        set_label(db, caller, version, label)
    return entry, version, repo


def reject(db: Session, caller: Caller, entry_id: int, note: str) -> Decided:
    """Refuse a quarantined version for good (its number stays taken); audited, emitted."""
    entry, version, repo = _pending(db, caller, entry_id)
    version.state = REJECTED
    _decide(entry, caller, ENTRY_REJECTED, note)
    target = f"{version.package.name}@{version.version}"
    change = changes.of(db)
    change.audit(caller, "quarantine.reject", repo_key=repo.key, target=target, note=note)
    change.version_event(
        QUARANTINE_REJECTED, version, repo, caller, visible=False, quarantine_id=entry.id, note=note
    )
    return entry, version, repo


def _pending(db: Session, caller: Caller, entry_id: int) -> Decided:
    entry = get_entry(db, caller, entry_id)
    version = db.get(Version, entry.version_id)
    repo = db.get(Repository, entry.repository_id)
    assert version is not None
    assert repo is not None
    if entry.state != PENDING or version.state != QUARANTINED:
        raise Conflict(f"quarantined version {entry_id} was already {entry.state}")
    return entry, version, repo


def _decide(entry: QuarantineEntry, caller: Caller, state: str, note: str | None) -> None:
    entry.state = state
    entry.decided_at = utcnow()
    entry.decided_by = caller.principal.name
    entry.note = note


def list_entries(
    db: Session,
    tenant_id: int,
    *,
    state: str | None,
    repo_key: str | None,
    before: int | None,
    limit: int,
) -> list[tuple[QuarantineEntry, Version, Repository]]:
    """The tenant's quarantine entries, newest first."""
    stmt = (
        select(QuarantineEntry, Version, Repository)
        .join(Version, Version.id == QuarantineEntry.version_id)
        .join(Repository, Repository.id == QuarantineEntry.repository_id)
        .where(QuarantineEntry.tenant_id == tenant_id)
    )
    if state is not None:
        stmt = stmt.where(QuarantineEntry.state == state)
    if repo_key is not None:
        stmt = stmt.where(Repository.key == repo_key)
    if before is not None:
        stmt = stmt.where(QuarantineEntry.id < before)
    rows = db.execute(stmt.order_by(QuarantineEntry.id.desc()).limit(limit)).all()
    return list(rows)


def entry_to_json(entry: QuarantineEntry, version: Version, repo: Repository) -> dict[str, Any]:
    return {
        "id": entry.id,
        "repo": repo.key,
        "package": version.package.name,
        "display_name": version.package.display_name,
        "version": version.version,
        "version_id": version.id,
        "state": entry.state,
        "reasons": entry.reasons,
        "created_at": iso(entry.created_at),
        "created_by": entry.created_by,
        "decided_at": iso(entry.decided_at),
        "decided_by": entry.decided_by,
        "note": entry.note,
        "files": [a.filename for a in version.artifacts],
        "labels": entry.labels or [],  # what a release will point at the version
    }
