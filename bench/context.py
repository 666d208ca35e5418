"""The state one benchmark run shares between its rows: servers, data, settings."""

from __future__ import annotations

import dataclasses
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from bench.data import Sizes
from bench.floor import FalconFloor
from bench.model import SUBJECT, Row
from bench.peers import Artifortress, Nginx, Server


@dataclasses.dataclass
class Bench:
    """Everything a row needs; filled in by bench/run.py before the rows run."""

    work: Path
    cache: Path
    log: Path
    sizes: Sizes
    quick: bool
    seconds: float  # duration of one wrk run
    runs: int  # wrk runs per target on the read rows (the cell: median, low, high)
    profile: bool  # record py-spy profiles of Artifortress on the page rows
    subjects: list[Artifortress]  # SQLite, and PostgreSQL when asked for
    pypi_peers: list[Server]
    npm_peers: list[Server]
    nginx: Nginx | None
    #: Artifortress behind nginx: read rows only (it serves the subject's data).
    fronts: list[Server] = dataclasses.field(default_factory=list)
    #: The same bytes from a bare Falcon app under gunicorn (page rows only).
    floor: FalconFloor | None = None
    real_wheels: list[Path] = dataclasses.field(default_factory=list)
    real_names: tuple[str, ...] = ()
    npm_real: list[Path] = dataclasses.field(default_factory=list)
    npm_publish: list[Path] = dataclasses.field(default_factory=list)
    big: Path | None = None
    profiles: dict[str, str] = dataclasses.field(default_factory=dict)
    refused: dict[str, str] = dataclasses.field(default_factory=dict)  # real wheel -> answer
    #: Rows measured together with an earlier one (oci-pull needs oci-push's servers).
    measured: dict[str, Row] = dataclasses.field(default_factory=dict)

    @property
    def subject(self) -> Artifortress:
        return self.subjects[0]

    def pypi_servers(self) -> list[Server]:
        return [*self.subjects, *self.pypi_peers]

    def npm_servers(self) -> list[Server]:
        return [*self.subjects, *self.npm_peers]

    def pypi_readers(self) -> list[Server]:
        """Who the read rows measure: the servers, and Artifortress behind nginx."""
        return [*self.subjects, *self.fronts, *self.pypi_peers]

    def npm_readers(self) -> list[Server]:
        return [*self.subjects, *self.fronts, *self.npm_peers]

    def all_servers(self) -> list[Server]:
        """In start order: a front needs its subject running."""
        nginx = [self.nginx] if self.nginx is not None else []
        floor = [self.floor] if self.floor is not None else []
        return [*self.subjects, *self.fronts, *self.pypi_peers, *self.npm_peers, *nginx, *floor]

    def scratch(self, name: str) -> Path:
        folder = self.work / "run" / "scratch" / name
        folder.mkdir(parents=True, exist_ok=True)
        return folder


def is_subject(server: Server) -> bool:
    return server.name.startswith(SUBJECT)


def fetch(url: str, headers: Mapping[str, str] | None = None) -> tuple[int, str, bytes]:
    """GET *url*: status, content type and body (errors are answers too)."""
    request = urllib.request.Request(url, headers=dict(headers or {}))  # noqa: S310 (loopback)
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:  # noqa: S310
            return answer.status, answer.headers.get("Content-Type", ""), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()
