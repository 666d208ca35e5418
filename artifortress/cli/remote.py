"""``remote prefetch`` and ``remote cache``: pre-warm a remote or virtual repository, see its cache.

``prefetch`` sends its GETs to the application in this process
(:mod:`artifortress.cli.inprocess`), not to a server's URL: like every other
command it needs only the settings and the database (no server up, no token
to hand it, no host name to get right behind a proxy), and what it fetches
goes exactly where a client's request would put it, the servers' blob store
and database, under the same single-flight leases (they live in the
database), so running it beside the servers fetches nothing twice.

The core knows no lock-file format: the repository's format reads the file
(``FormatSpec.prefetch``: pip requirements for PyPI, package-lock.json for
npm, a list of paths for generic files) and says which paths to GET and,
for an index page, which of its links to follow.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from artifortress.cli.common import Subparsers, as_operator, count, prepare_database
from artifortress.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from artifortress.auth.principal import Caller
    from artifortress.cli.inprocess import InProcessClient
    from artifortress.container import Services
    from artifortress.formats import Prefetch
    from artifortress.repos.models import Repository

#: The largest index page whose links are followed.
MAX_PAGE = 64 * 1024 * 1024


def register(sub: Subparsers) -> None:
    """Add ``remote prefetch`` and ``remote cache``."""
    remote = sub.add_parser("remote", help="remote and virtual repositories").add_subparsers(
        title="remote commands"
    )
    prefetch = remote.add_parser(
        "prefetch",
        help="fetch what a lock file or requirements list needs into a remote or virtual",
        description="Fetch, through a remote or virtual repository, everything FILE names, "
        "so that later installs are served locally: pinned requirements (name==version lines) "
        "for pypi, a package-lock.json (v2/v3) for npm, one path per line for generic. "
        "Exit status 1 if any item failed; each failure is named.",
    )
    prefetch.add_argument("repo", help="a remote or virtual repository")
    prefetch.add_argument("file", type=Path, help="the lock file or list")
    prefetch.add_argument("--jobs", type=int, default=4, help="requests at a time (default: 4)")
    prefetch.set_defaults(run=cmd_prefetch)
    cache = remote.add_parser("cache", help="show what a remote has cached, or purge it")
    cache.add_argument("repo", help="a remote repository")
    cache.add_argument(
        "--purge", action="store_true", help="forget the cached metadata (refetched when asked)"
    )
    cache.add_argument(
        "--files",
        action="store_true",
        help="with --purge: also delete the files fetched from upstream (tombstoned for gc)",
    )
    cache.set_defaults(run=cmd_cache)


@dataclasses.dataclass(frozen=True)
class Done:
    """One GET's end: a failure's reason, or the paths its page links to."""

    path: str
    problem: str | None = None
    links: tuple[str, ...] = ()


def cmd_prefetch(settings: Settings, args: argparse.Namespace) -> int:
    from artifortress.cli.inprocess import operator_client
    from artifortress.container import Services
    from artifortress.errors import ValidationFailed

    if args.jobs < 1:
        raise ValidationFailed("--jobs must be at least 1")
    text = args.file.read_text(encoding="utf-8")
    prepare_database(settings)
    services = Services.build(settings)
    try:
        mount, items = _plan(services, args.repo, text)
        with operator_client(settings, services, f"remote prefetch {args.repo}") as client:
            failures, total = _fetch_all(client, mount, items, args.jobs)
    finally:
        services.close()
    for done in failures:
        print(f"failed: {done.path}: {done.problem}", file=sys.stderr)
    _record(settings, args.repo, total, len(failures))
    print(
        f"prefetched {total - len(failures)} of {count(total, 'request')} through {args.repo}"
        + (f"; {len(failures)} failed" if failures else "")
    )
    return 1 if failures else 0


def _plan(services: Services, key: str, text: str) -> tuple[str, list[Prefetch]]:
    """The repository's mount (``/pypi/all/``) and what its format reads in *text*."""
    from artifortress.errors import Conflict, ValidationFailed
    from artifortress.repos.kinds import HOSTED
    from artifortress.tenants.services import get_or_create_tenant

    with services.sessions() as db:
        repo = _repository(db, get_or_create_tenant(db).id, key)
        kind, format = repo.kind, repo.format
    if kind == HOSTED:
        raise Conflict(
            f"repository {key!r} is hosted: it fetches nothing; prefetch a remote or virtual"
        )
    spec = services.formats.get(format)
    if spec is None or spec.prefetch is None:
        raise ValidationFailed(f"the {format} format cannot read lock files (it has no prefetch)")
    try:
        items = list(spec.prefetch(text))
    except ValueError as exc:
        raise ValidationFailed(f"cannot read the file: {exc}") from None
    return f"/{format}/{key}/", items


def _repository(db: Session, tenant_id: int, key: str) -> Repository:
    from sqlalchemy import select

    from artifortress.errors import NotFound
    from artifortress.repos.models import Repository

    repo = db.scalars(
        select(Repository).where(Repository.tenant_id == tenant_id, Repository.key == key)
    ).one_or_none()
    if repo is None:
        raise NotFound(f"no repository {key!r}")
    return repo


def _fetch_all(
    client: InProcessClient, mount: str, items: Iterable[Prefetch], jobs: int
) -> tuple[list[Done], int]:
    """GET every item and the links of its page, *jobs* at a time; the failures and the total."""
    from tqdm import tqdm

    from artifortress.formats import Prefetch

    seen: set[str] = set()
    failures: list[Done] = []
    with (
        ThreadPoolExecutor(jobs) as pool,
        tqdm(
            desc="prefetching", unit="request", file=sys.stderr, disable=not sys.stderr.isatty()
        ) as bar,
    ):
        running: set[Future[Done]] = set()

        def submit(item: Prefetch) -> None:
            if item.path in seen:
                return
            seen.add(item.path)
            bar.total = len(seen)
            bar.refresh()
            running.add(pool.submit(_fetch_one, client, mount, item))

        for item in items:
            submit(item)
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                running.discard(future)
                done = future.result()
                bar.update(1)
                if done.problem is not None:
                    failures.append(done)
                for link in done.links:
                    submit(Prefetch(link))
    return failures, len(seen)


def _fetch_one(client: InProcessClient, mount: str, item: Prefetch) -> Done:
    """GET one item; for a page with links, the links under *mount* it names."""
    path = mount + item.path.lstrip("/")
    try:
        answer = client.get(path, accept=item.accept, keep=MAX_PAGE if item.links else 0)
        if answer.problem is not None:
            return Done(path, answer.problem)
        if item.links is None or answer.body is None:
            return Done(path)
        return _follow(path, mount, item.links(answer.body))
    except Exception as exc:  # one item's failure must not end the run
        return Done(path, f"{type(exc).__name__}: {exc}")


def _follow(page: str, mount: str, links: Iterable[str]) -> Done:
    """The links of *page* as paths under *mount*; one leading elsewhere is a failure."""
    paths: list[str] = []
    for link in links:
        parts = urlsplit(urljoin("http://gateway" + page, link))
        if not parts.path.startswith(mount):
            return Done(page, f"links to {link}, outside {mount}")
        target = parts.path[len(mount) :] + (f"?{parts.query}" if parts.query else "")
        paths.append(target)
    return Done(page, links=tuple(paths))


def _record(settings: Settings, key: str, total: int, failed: int) -> None:
    """An audit row for the run: who pre-warmed what, and how it went."""
    from artifortress import changes

    def run(db: Session, caller: Caller) -> None:
        changes.of(db).audit(caller, "remote.prefetch", repo_key=key, requests=total, failed=failed)

    as_operator(settings, run)


def cmd_cache(settings: Settings, args: argparse.Namespace) -> int:
    from artifortress.errors import ValidationFailed
    from artifortress.remote import cache

    if args.files and not args.purge:
        raise ValidationFailed("--files goes with --purge")

    def run(db: Session, caller: Caller) -> str:
        repo = _repository(db, caller.principal.tenant_id, args.repo)
        if args.purge:
            purged = cache.purge(db, caller, repo, files=args.files)
            return (
                f"purged {count(purged['documents'], 'document')}"
                f" and {count(purged['versions'], 'version')} from {args.repo}"
            )
        report = cache.cache_report(db, repo, after=None, limit=1000)
        lines = [
            f"{d['key']}\t{d['status']}\t{d['size']}\tfetched {d['fetched_at']}"
            + ("\texpired" if d["expired"] else "")
            for d in report["documents"]
        ]
        if report["next_after"] is not None:
            lines.append("(the first 1000 documents; GET /v1/repos/REPO/cache pages through all)")
        files = report["files"]
        lines.append(
            f"{count(len(report['documents']), 'document')}; files: "
            f"{count(files['count'], 'file')} in {count(files['versions'], 'version')}, "
            f"{files['bytes']} bytes"
        )
        return "\n".join(lines)

    print(as_operator(settings, run))
    return 0
