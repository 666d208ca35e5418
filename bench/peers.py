"""The servers under test: Artifortress, pypiserver, devpi, Verdaccio and nginx.

Each is installed into ``bench/work`` (peers' own venv, Verdaccio's own
node_modules, nginx from Debian), listens on a free 127.0.0.1 port with
uplinks, mirrors and fallbacks off (the proxy rows add a devpi mirror index and
a Verdaccio with an uplink), and is stopped by the PID it was started with.
A server exposes what the rows need: a PyPI index (simple URL, upload URL,
credentials), an npm registry (URL, token), and the PIDs whose peak RSS is
reported.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import shutil
import sys
from pathlib import Path

from artifortress.testing.server import ServerProcess
from bench.clients import Http, basic, publish_tarballs, upload_wheels
from bench.model import SUBJECT_ACCEL
from bench.procs import Daemon, children, free_port, run
from tests.support.nginx import runnable_config

#: The shipped front-proxy configuration the "behind nginx" column runs.
DEPLOY_NGINX = Path(__file__).resolve().parent.parent / "deploy" / "nginx.conf"

PEER_PACKAGES = ("pypiserver[cache]", "waitress", "devpi-server", "py-spy")
# Verdaccio 6 depends on node-fetch@cjs, a dist-tag some registries do not serve.
VERDACCIO = {"name": "bench-verdaccio", "private": True, "overrides": {"node-fetch": "2.7.0"}}


@dataclasses.dataclass(frozen=True)
class PypiIndex:
    """How clients reach a PyPI-style index."""

    simple: str  # the simple index URL, ending in "/"
    upload: str  # the legacy upload URL twine posts to
    user: str
    password: str
    read_auth: str | None  # Authorization header for reads, None when reads are anonymous

    def install_url(self) -> str:
        """The index URL with credentials in it, as pip and uv take them."""
        if self.read_auth is None:
            return self.simple
        return self.simple.replace("http://", f"http://{self.user}:{self.password}@", 1)


@dataclasses.dataclass(frozen=True)
class NpmRegistry:
    """How clients reach an npm registry."""

    url: str  # ending in "/"
    token: str

    @property
    def auth(self) -> str:
        return f"Bearer {self.token}"


class Server:
    """A server under test; subclasses fill in how to start, load and stop it."""

    name = "server"
    pypi: PypiIndex | None = None
    npm: NpmRegistry | None = None

    def __init__(self, work: Path) -> None:
        self.tools = work  # installations shared by runs
        self.work = work / "run" / self.name.lower().replace(" ", "-")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"

        self.daemon: Daemon | None = None

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        if self.daemon is not None:
            self.daemon.stop()

    def rss_pids(self) -> list[int]:
        """The processes that serve requests (gunicorn's workers, not its master)."""
        return [self.daemon.pid] if self.daemon is not None else []

    def load_wheels(self, wheels: list[Path]) -> None:
        assert self.pypi is not None
        upload_wheels(Http(self.pypi.upload, basic(self.pypi.user, self.pypi.password)), "", wheels)

    def load_tarballs(self, tarballs: list[Path]) -> None:
        assert self.npm is not None
        publish_tarballs(Http(self.npm.url, self.npm.auth), self.npm.url, tarballs)


class Artifortress(Server):
    """``artifortress serve`` as ``make serve`` runs it (2 workers x 8 threads)."""

    def __init__(self, work: Path, database_url: str | None = None, label: str = "") -> None:
        self.name = label or "Artifortress"
        super().__init__(work)
        self.database_url = database_url
        self.server: ServerProcess | None = None
        self.token = ""

    def start(self) -> None:
        shutil.rmtree(self.work, ignore_errors=True)
        environ = {}
        if self.database_url:
            environ["ARTIFORTRESS_DATABASE_URL"] = self.database_url
        self.server = ServerProcess(self.work / "home", environ)
        if self.database_url:
            self.server.cli("db", "upgrade")
        self.server.start(timeout=60)
        self.base = self.server.base_url
        created = self.server.cli("admin", "create-token", "--user", "bench", "--admin")
        self.token = created.stdout.strip().splitlines()[-1]
        for key, fmt in (("py", "pypi"), ("js", "npm"), ("files", "generic")):
            self.create_repo(key, fmt)
        self.pypi = PypiIndex(
            simple=f"{self.base}/pypi/py/simple/",
            upload=f"{self.base}/pypi/py/legacy/",
            user="__token__",
            password=self.token,
            read_auth=basic("__token__", self.token),
        )
        self.npm = NpmRegistry(f"{self.base}/npm/js/", self.token)

    def create_repo(self, key: str, fmt: str, **settings: object) -> None:
        """A private repository of format *fmt* (hosted unless *settings* give another kind)."""
        body = json.dumps({"key": key, "format": fmt, **settings}).encode()
        api = Http(self.base, f"Bearer {self.token}")
        status, answer = api.request(
            "POST", "/v1/repos", body, {"Content-Type": "application/json"}
        )
        if status != 201:
            raise RuntimeError(f"creating repository {key} answered {status}: {answer!r}")

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()

    def rss_pids(self) -> list[int]:
        assert self.server is not None
        assert self.server.process is not None
        return children(self.server.process.pid)

    @property
    def generic(self) -> str:
        return f"{self.base}/generic/files/"


class AccelFront(Server):
    """Artifortress behind nginx (deploy/nginx.conf): same data, bodies sent by nginx.

    A second ``artifortress serve`` on the subject's home and database, with
    ``ARTIFORTRESS_ACCEL_REDIRECT=/_accel/``; nginx in front of it.  It reads
    what was loaded into the subject, so it is only used by the read rows.
    """

    name = SUBJECT_ACCEL

    def __init__(self, work: Path, subject: Artifortress) -> None:
        super().__init__(work)
        self.subject = subject
        self.server: ServerProcess | None = None

    def start(self) -> None:
        shutil.rmtree(self.work, ignore_errors=True)
        self.work.mkdir(parents=True)
        assert self.subject.server is not None
        home = self.subject.server.home
        # A public URL, as a deployment behind a proxy sets: pages holding URLs built
        # from a client's Host are never handed off (npm packuments would not be).
        environ = {"ARTIFORTRESS_ACCEL_REDIRECT": "/_accel/", "ARTIFORTRESS_PUBLIC_URL": self.base}
        if self.subject.database_url:
            environ["ARTIFORTRESS_DATABASE_URL"] = self.subject.database_url
        self.server = ServerProcess(home, environ)
        self.server.stdout_path = self.work / "serve-stdout.log"
        self.server.stderr_path = self.work / "serve-stderr.log"
        self.server.start(timeout=60)
        conf = self.work / "nginx.conf"
        conf.write_text(self._config(home, self.server.port))
        self.daemon = Daemon(
            self.name,
            [nginx_bin(), "-p", self.work, "-c", conf, "-g", "daemon off;"],
            self.work / "server.log",
        )
        self.daemon.start(f"{self.base}/healthz")
        token = self.subject.token
        self.pypi = PypiIndex(
            simple=f"{self.base}/pypi/py/simple/",
            upload=f"{self.base}/pypi/py/legacy/",
            user="__token__",
            password=token,
            read_auth=basic("__token__", token),
        )
        self.npm = NpmRegistry(f"{self.base}/npm/js/", token)

    def _config(self, home: Path, upstream: int) -> str:
        """deploy/nginx.conf with this run's paths and ports, logs and temp files in work."""
        return runnable_config(
            DEPLOY_NGINX.read_text(),
            home=home,
            upstream_port=upstream,
            listen_port=self.port,
            work=self.work,
        )

    def stop(self) -> None:
        super().stop()
        if self.server is not None:
            self.server.stop()

    def rss_pids(self) -> list[int]:
        return []  # the same program as the subject's column; nginx is not Artifortress


class PyPIServer(Server):
    """pypiserver with its cached-dir backend (waitress, picked by "auto"); no fallback, no auth."""

    name = "pypiserver"

    def start(self) -> None:
        shutil.rmtree(self.work, ignore_errors=True)
        self.packages = self.work / "packages"
        self.packages.mkdir(parents=True)
        self.daemon = Daemon(
            self.name,
            [
                peer_bin(self.tools, "pypi-server"),
                "run",
                "-i",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-a",
                ".",
                "-P",
                ".",
                "--disable-fallback",
                "--server",
                "auto",
                "--backend",
                "cached-dir",
                self.packages,
            ],
            self.work / "server.log",
        )
        self.daemon.start(f"{self.base}/health")
        self.pypi = PypiIndex(f"{self.base}/simple/", f"{self.base}/", "bench", "bench", None)

    def load_wheels(self, wheels: list[Path]) -> None:
        """pypiserver serves a folder: its documented bulk load is putting files there."""
        for wheel in wheels:
            os.link(wheel, self.packages / wheel.name)


class Devpi(Server):
    """devpi-server with a private index ``bench/dev`` whose ``bases`` is empty (no mirror).

    The proxy rows add mirror indexes beside it (:meth:`create_mirror`).
    """

    name = "devpi"
    auth = ""  # X-Devpi-Auth of user bench, once logged in

    def start(self) -> None:
        shutil.rmtree(self.work, ignore_errors=True)
        serverdir = self.work / "server"
        run([peer_bin(self.tools, "devpi-init"), "--serverdir", serverdir, "--no-root-pypi"])
        logger = self.work / "logger.json"
        logger.write_text(
            '{"version": 1, "handlers": {"h": {"class": "logging.StreamHandler"}},'
            ' "root": {"level": "WARNING", "handlers": ["h"]}}'
        )
        self.daemon = Daemon(
            self.name,
            [
                peer_bin(self.tools, "devpi-server"),
                "--serverdir",
                serverdir,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--logger-cfg",
                logger,
                # PEP 658 metadata, as the other servers serve it (see bench/report.py).
                "--enable-core-metadata",
            ],
            self.work / "server.log",
        )
        self.daemon.start(f"{self.base}/+api")
        token = self._login()
        stage = {"type": "stage", "bases": [], "volatile": False, "mirror_whitelist": []}
        self._create_index("dev", stage)
        index = f"{self.base}/bench/dev/"
        # The login token as the password: a real password costs an argon2 hash per request.
        self.pypi = PypiIndex(f"{index}+simple/", index, "bench", token, None)

    def create_mirror(self, name: str, mirror_url: str) -> str:
        """A mirror index ``bench/NAME`` of *mirror_url* (``devpi index -c NAME type=mirror
        mirror_url=...``), its cache empty; returns its simple URL."""
        self._create_index(name, {"type": "mirror", "mirror_url": mirror_url})
        return f"{self.base}/bench/{name}/+simple/"

    def _login(self) -> str:
        """User ``bench``, logged in through devpi's JSON API; returns the login token."""
        api = Http(self.base, None)
        user = b'{"password": "bench", "email": "bench@example.invalid"}'
        status, answer = api.request("PUT", "/bench", user, _DEVPI_JSON)
        if status != 201:
            raise RuntimeError(f"devpi user creation answered {status}: {answer!r}")
        login = b'{"user": "bench", "password": "bench"}'
        status, answer = api.request("POST", "/+login", login, _DEVPI_JSON)
        if status != 200:
            raise RuntimeError(f"devpi login answered {status}: {answer!r}")
        token: str = json.loads(answer)["result"]["password"]
        self.auth = base64.b64encode(f"bench:{token}".encode()).decode()
        return token

    def _create_index(self, name: str, settings: dict[str, object]) -> None:
        body = json.dumps(settings).encode()
        headers = {**_DEVPI_JSON, "X-Devpi-Auth": self.auth}
        status, answer = Http(self.base, None).request("PUT", f"/bench/{name}", body, headers)
        if status not in (200, 201):
            raise RuntimeError(f"devpi index creation answered {status}: {answer!r}")


_DEVPI_JSON = {"Content-Type": "application/json", "Accept": "application/json"}


class Verdaccio(Server):
    """Verdaccio 6 with no uplinks, htpasswd users, JWT API tokens and a 1 GB body limit."""

    name = "Verdaccio"

    #: Where packages not stored here come from: none (``uplinks: {}``).
    uplinks = "uplinks: {}\n"
    proxy = ""

    def start(self) -> None:
        shutil.rmtree(self.work, ignore_errors=True)
        self.work.mkdir(parents=True)
        config = self.work / "config.yaml"
        config.write_text(
            f"storage: {self.work / 'storage'}\n"
            f"auth:\n  htpasswd:\n    file: {self.work / 'htpasswd'}\n    max_users: 100\n"
            f"{self.uplinks}"
            "packages:\n  '**':\n    access: $all\n    publish: $authenticated\n"
            f"    unpublish: $authenticated\n{self.proxy}"
            "server:\n  keepAliveTimeout: 60\n"
            # JWT tokens: verifying one is an HMAC; a legacy token costs a bcrypt per request.
            "security:\n  api:\n    jwt:\n      sign:\n        expiresIn: 7d\n"
            "max_body_size: 1gb\n"
            "log: {type: stdout, format: pretty, level: warn}\n"
        )
        self.daemon = Daemon(
            self.name,
            [verdaccio_bin(self.tools), "--config", config, "--listen", f"127.0.0.1:{self.port}"],
            self.work / "server.log",
        )
        self.daemon.start(f"{self.base}/-/ping")
        self.npm = NpmRegistry(f"{self.base}/", self._add_user())

    def _add_user(self) -> str:
        """Create the publishing user the way ``npm adduser`` does; returns its token."""
        body = b'{"name": "bench", "password": "bench-password", "email": "bench@example.invalid"}'
        status, answer = Http(self.base, None).request(
            "PUT", "/-/user/org.couchdb.user:bench", body, {"Content-Type": "application/json"}
        )
        if status != 201:
            raise RuntimeError(f"Verdaccio adduser answered {status}: {answer!r}")
        token: str = json.loads(answer)["token"]
        return token


class VerdaccioUplink(Verdaccio):
    """Verdaccio as a pull-through proxy: every package from one uplink, cached in its storage.

    Its metadata is fresh for *maxage* (Verdaccio's default is 2 minutes; the proxy
    rows give every proxy the same window as Artifortress's metadata TTL).
    """

    name = "Verdaccio uplink"

    def __init__(self, work: Path, upstream: str, maxage: str) -> None:
        super().__init__(work)
        self.uplinks = f"uplinks:\n  upstream:\n    url: {upstream}\n    maxage: {maxage}\n"
        self.proxy = "    proxy: upstream\n"


class Nginx(Server):
    """nginx serving a folder of static files: the ceiling for pages and downloads."""

    name = "nginx"

    def start(self) -> None:
        self.root = self.work / "html"
        self.root.mkdir(parents=True, exist_ok=True)
        for sub in ("logs", "tmp"):
            (self.work / sub).mkdir(exist_ok=True)
        user = "user root;\n" if os.geteuid() == 0 else ""  # workers must read bench/work
        conf = self.work / "nginx.conf"
        temp = "".join(
            f"  {kind}_temp_path {self.work / 'tmp' / kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        conf.write_text(
            f"{user}worker_processes auto;\nerror_log {self.work / 'logs/error.log'} warn;\n"
            f"pid {self.work / 'nginx.pid'};\nevents {{ worker_connections 1024; }}\n"
            "http {\n  access_log off;\n  sendfile on;\n  tcp_nopush on;\n"
            "  keepalive_requests 1000000;\n"
            "  types { text/html html; application/json json; application/octet-stream bin tgz; }\n"
            f"{temp}  server {{\n    listen 127.0.0.1:{self.port};\n"
            f"    root {self.root};\n  }}\n}}\n"
        )
        self.daemon = Daemon(
            self.name,
            [nginx_bin(), "-p", self.work, "-c", conf, "-g", "daemon off;"],
            self.work / "server.log",
        )
        self.daemon.start(f"{self.base}/")

    def serve(self, name: str, data: bytes | Path) -> str:
        """Put *data* (bytes, or a file to link) at /name; returns its URL."""
        target = self.root / name
        target.unlink(missing_ok=True)
        if isinstance(data, Path):
            os.link(data, target)
        else:
            target.write_bytes(data)
        return f"{self.base}/{name}"

    def rss_pids(self) -> list[int]:
        return children(self.daemon.pid) if self.daemon is not None else []


# -- installation ------------------------------------------------------------------------


def peer_bin(work: Path, name: str) -> Path:
    return work / "peers-venv" / "bin" / name


def verdaccio_bin(work: Path) -> Path:
    return work / "verdaccio-install" / "node_modules" / ".bin" / "verdaccio"


def nginx_bin() -> str:
    return shutil.which("nginx") or "/usr/sbin/nginx"


def install(work: Path, log: Path, *, oci: bool = False) -> None:
    """Install whatever is missing: nginx and wrk (apt), the Python peers (venv), Verdaccio;
    with *oci*, skopeo and docker-registry (the CNCF distribution registry) too."""
    wanted = [("nginx-light", nginx_bin()), ("wrk", "wrk")]
    if oci:
        wanted += [("skopeo", "skopeo"), ("docker-registry", "docker-registry")]
    missing = [pkg for pkg, exe in wanted if not shutil.which(exe)]
    if missing:
        environ = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        run(["apt-get", "update"], env=environ, timeout=600, log=log)
        run(["apt-get", "install", "-y", *missing], env=environ, timeout=900, log=log)
    venv = work / "peers-venv"
    if not (venv / ".installed").exists():
        run([sys.executable, "-m", "venv", "--clear", venv], log=log)
        run(
            [venv / "bin" / "python", "-m", "pip", "install", "-q", *PEER_PACKAGES],
            timeout=900,
            log=log,
        )
        (venv / ".installed").touch()
    folder = work / "verdaccio-install"
    if not verdaccio_bin(work).exists():
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "package.json").write_text(json.dumps(VERDACCIO))
        run(
            ["npm", "install", "--no-audit", "--no-fund", "verdaccio@6"],
            cwd=folder,
            timeout=900,
            log=log,
        )
