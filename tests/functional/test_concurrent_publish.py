"""Publishing one version from several processes at once: exactly one wins."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from artifortress.auth.principal import Caller, Principal
from artifortress.container import Services
from artifortress.errors import Conflict
from artifortress.repos.services import get_repo
from artifortress.settings import Settings
from artifortress.versions import drafts
from tests.functional.versions_helpers import upload

PROCESSES = 6


def _race(db_url: str, home: str, digest: str, barrier: object, results: object) -> None:
    """One publisher process: open a draft, wait for the others, publish."""
    settings = Settings.load(
        environ={"ARTIFORTRESS_HOME": home, "ARTIFORTRESS_DATABASE_URL": db_url}
    )
    services = Services.build(settings)
    caller = Caller(Principal.operator(services.default_tenant_id()))
    with services.sessions.begin() as db:
        repo = get_repo(db, caller.principal.tenant_id, "libs")
        draft = drafts.create_draft(
            db, caller, repo, package="tool", version="1.0", ttl_seconds=600
        )
        drafts.add_artifact(db, caller, draft, drafts.ArtifactInput("tool.bin", digest))
        draft_id = draft.id
    barrier.wait()  # type: ignore[attr-defined]
    try:
        with services.sessions.begin() as db:
            repo = get_repo(db, caller.principal.tenant_id, "libs")
            drafts.publish(db, caller, repo, drafts.get_draft(db, repo, draft_id))
        outcome = "won"
    except Conflict:
        outcome = "conflict"
    results.put(outcome)  # type: ignore[attr-defined]
    services.close()


def test_exactly_one_of_several_processes_publishes(admin, make_repo, settings, tmp_path: Path):
    make_repo("libs", format="generic")
    digest = upload(admin, "libs", b"the bytes everyone publishes")
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES)
    results = ctx.Queue()
    workers = [
        ctx.Process(
            target=_race, args=(settings.database_url, str(tmp_path), digest, barrier, results)
        )
        for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    outcomes = sorted(results.get(timeout=5) for _ in workers)
    assert outcomes == ["conflict"] * (PROCESSES - 1) + ["won"]
    versions = admin.get("/v1/repos/libs/packages/tool").json["versions"]
    assert [v["version"] for v in versions] == ["1.0"]
