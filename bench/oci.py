"""The container image rows: skopeo pushes and pulls a ~500 MiB multi-layer image.

The image is an OCI layout written once into the cache (bench/oci_image.py).
Each push run goes to fresh servers (a new Artifortress home and a new
``docker-registry`` folder), so no run finds blobs a previous one left
(neither server, nor skopeo's blob-info cache, which only knows blobs by
registry address, can skip the upload).  The pulls then copy the image back
from the last pushed servers into a new OCI layout each.  Runs alternate
between the targets (who goes first alternates too), so whatever else the
shared machine does lands on both; every run starts after ``sync``, so none
pays for dirty pages another left (both servers fsync the blobs they store,
skopeo the files of its OCI layout).  The cell is the median run (as on the
read rows), with the lowest and the highest in the note.

Artifortress runs as ``make serve`` does (2 workers x 8 threads), its
repository private: skopeo logs in with a personal access token and goes
through the token flow (401, ``/v2/_token``, Bearer).  docker-registry (the
CNCF distribution registry, Debian's package) runs with a filesystem store
and no authentication (its htpasswd auth would cost it a bcrypt per request;
the other peers run without authentication too).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import statistics
import time
from pathlib import Path

from bench.context import Bench
from bench.model import SUBJECT, Figure, Row
from bench.oci_image import ImageLayout, image_layout, layout_manifest
from bench.peers import Artifortress, Server
from bench.procs import Daemon, MiB, peak_rss, run
from bench.report import OCI_GOALS

REGISTRY = "docker-registry"
REPO = "containers"
IMAGE = "bench/big"


def docker_registry_bin() -> str:
    return shutil.which("docker-registry") or "/usr/bin/docker-registry"


class DockerRegistry(Server):
    """The CNCF distribution registry (Debian's ``docker-registry``), filesystem store, no auth."""

    name = REGISTRY

    def start(self) -> None:
        shutil.rmtree(self.work, ignore_errors=True)
        self.work.mkdir(parents=True)
        config = self.work / "config.yml"
        config.write_text(
            "version: 0.1\n"
            "log:\n  level: warn\n  accesslog:\n    disabled: true\n"
            f"storage:\n  filesystem:\n    rootdirectory: {self.work / 'storage'}\n"
            "  cache:\n    blobdescriptor: inmemory\n  delete:\n    enabled: true\n"
            f"http:\n  addr: 127.0.0.1:{self.port}\n"
        )
        self.daemon = Daemon(
            self.name, [docker_registry_bin(), "serve", config], self.work / "server.log"
        )
        self.daemon.start(f"{self.base}/v2/")


@dataclasses.dataclass
class Target:
    """One registry as skopeo reaches it, and the processes whose memory is reported."""

    label: str
    server: Server
    path: str  # the image's name on this registry
    creds: str | None

    @property
    def reference(self) -> str:
        return f"docker://{self.server.base.removeprefix('http://')}/{self.path}:{TAG_PUSHED}"

    def rss(self) -> int:
        """The highest peak RSS of the serving processes (gunicorn's workers), bytes."""
        return max((peak_rss(pid) for pid in _serving(self.server)), default=0)


TAG_PUSHED = "1.0"


def _serving(server: Server) -> list[int]:
    if isinstance(server, Artifortress):
        assert server.server is not None
        return server.server.serving_workers()
    return server.rss_pids()


def _start_targets(bench: Bench) -> list[Target]:
    """A fresh Artifortress with an oci repository, and a fresh docker-registry."""
    subject = Artifortress(bench.work, label="Artifortress oci")  # its start empties its home
    subject.start()
    subject.create_repo(REPO, "oci")
    registry = DockerRegistry(bench.work)
    registry.start()
    return [
        Target(SUBJECT, subject, f"{REPO}/{IMAGE}", f"bench:{subject.token}"),
        Target(REGISTRY, registry, IMAGE, None),
    ]


def _stop(targets: list[Target]) -> None:
    for target in targets:
        target.server.stop()


class Skopeo:
    """skopeo with the bench's own policy file, over plain HTTP to loopback."""

    def __init__(self, bench: Bench) -> None:
        self.scratch = bench.scratch("oci")
        self.log = bench.log
        self.policy = self.scratch / "policy.json"
        self.policy.write_text(json.dumps({"default": [{"type": "insecureAcceptAnything"}]}))

    def copy(self, source: str, destination: str, *flags: str) -> float:
        """Seconds one ``skopeo copy`` took."""
        args = ["skopeo", "--policy", str(self.policy), "copy", "--quiet", *flags]
        started = time.perf_counter()
        run([*args, source, destination], timeout=1800, log=self.log)
        return time.perf_counter() - started

    def push(self, image: ImageLayout, target: Target) -> float:
        flags = ["--dest-tls-verify=false", "--preserve-digests"]
        if target.creds:
            flags += ["--dest-creds", target.creds]
        return self.copy(f"oci:{image.folder}:{image.tag}", target.reference, *flags)

    def pull(self, target: Target, into: Path) -> float:
        shutil.rmtree(into, ignore_errors=True)
        flags = ["--src-tls-verify=false"]
        if target.creds:
            flags += ["--src-creds", target.creds]
        return self.copy(target.reference, f"oci:{into}:{TAG_PUSHED}", *flags)


@dataclasses.dataclass
class Measured:
    """Seconds per run and memory growth (bytes) per target, for one direction."""

    seconds: dict[str, list[float]] = dataclasses.field(default_factory=dict)
    grown: dict[str, int] = dataclasses.field(default_factory=dict)
    peak: dict[str, int] = dataclasses.field(default_factory=dict)

    def add(self, target: Target, seconds: float, before: int) -> None:
        print(f"    {seconds:.2f} s", flush=True)
        after = target.rss()
        self.seconds.setdefault(target.label, []).append(seconds)
        self.grown[target.label] = max(self.grown.get(target.label, 0), after - before)
        self.peak[target.label] = max(self.peak.get(target.label, 0), after)


def _runs(bench: Bench) -> int:
    return max(3, bench.runs)  # BENCH_RUNS, as the read rows: 5, or 3 with BENCH_QUICK


def measure_push(bench: Bench, image: ImageLayout, skopeo: Skopeo) -> tuple[Measured, list[Target]]:
    """Push runs, each to fresh servers; the last run's servers are left running for pulls."""
    pushed = Measured()
    targets: list[Target] = []
    for number in range(_runs(bench)):
        _stop(targets)
        targets = _start_targets(bench)
        for target in _in_turn(targets, number):
            print(f"  oci push {number + 1} {target.label}", flush=True)
            before = target.rss()
            os.sync()  # no run pays for the writeback of dirty pages another run left
            pushed.add(target, skopeo.push(image, target), before)
    return pushed, targets


def _in_turn(targets: list[Target], number: int) -> list[Target]:
    """Who goes first alternates, so neither always runs right after the other."""
    return targets if number % 2 == 0 else targets[::-1]


def measure_pull(
    bench: Bench, image: ImageLayout, skopeo: Skopeo, targets: list[Target]
) -> Measured:
    """Pull runs from the same servers, each into a new OCI layout, checked by digest."""
    pulled = Measured()
    before = {target.label: target.rss() for target in targets}
    for number in range(_runs(bench)):
        for target in _in_turn(targets, number):
            print(f"  oci pull {number + 1} {target.label}", flush=True)
            into = skopeo.scratch / f"pulled-{target.server.name.replace(' ', '-')}"
            os.sync()  # the last run's files written back first (skopeo fsyncs its own)
            pulled.add(target, skopeo.pull(target, into), before[target.label])
            if layout_manifest(into) != image.manifest_digest:
                raise RuntimeError(f"{target.label} served another manifest than was pushed")
            shutil.rmtree(into)
    return pulled


def _figure(measured: Measured, label: str, image: ImageLayout) -> Figure:
    """The median run, as the read rows' cells; the lowest and highest in the note."""
    seconds = measured.seconds[label]
    median = statistics.median(seconds)
    return Figure(
        median,
        note=f"median of {len(seconds)} ({image.size / MiB / median:.0f} MiB/s), min "
        f"{min(seconds):.2f}, max {max(seconds):.2f}; serving processes' peak RSS "
        f"{measured.peak[label] / MiB:.0f} MiB, grown {measured.grown[label] / MiB:.0f} MiB "
        "during the runs",
    )


def _row(key: str, title: str, bound: str, measured: Measured, image: ImageLayout) -> Row:
    row = Row(key, title, "s", False, bound=bound)
    for label in (SUBJECT, REGISTRY):
        row.figures[label] = _figure(measured, label, image)
    return row


def _session(bench: Bench) -> None:
    """Both rows at once (the pulls need the pushed servers); kept on the bench for oci-pull."""
    image = image_layout(bench.cache, bench.quick)
    skopeo = Skopeo(bench)
    targets: list[Target] = []
    try:
        pushed, targets = measure_push(bench, image, skopeo)
        pulled = measure_pull(bench, image, skopeo, targets)
    finally:
        _stop(targets)
    what = f"a {image.mib} MiB image of {image.layers} layers (random bytes, tar+gzip)"
    bench.measured["oci-push"] = _row(
        "oci-push",
        f"Push of {what}, skopeo copy from an OCI layout",
        "Each run to fresh servers (no blob known beforehand); both servers fsync each blob. "
        "Artifortress: the token flow, then per layer a POST, one PATCH of the whole stream "
        "(hashed while written) and the PUT that verifies and links it; goal within "
        f"{OCI_GOALS['oci-push']}x of docker-registry.",
        pushed,
        image,
    )
    bench.measured["oci-pull"] = _row(
        "oci-pull",
        f"Pull of {what}, skopeo copy into a new OCI layout",
        "skopeo fetches the manifest, then the config and layers in parallel, verifying each "
        "digest and writing and fsyncing each file (its CPU and the disk bound the row); "
        "both servers send with sendfile(2). Artifortress writes a new blob past the page "
        "cache (O_DIRECT), so its first pull after the push reads the layers from disk "
        "(the max); docker-registry's are still cached. Server side a blob GET is one "
        "SELECT (the blob's row; the repository's read decision is cached) and sendfile: "
        "about 0.15 s of Artifortress's CPU per pull (docker-registry 0.35 s); goal within "
        f"{OCI_GOALS['oci-pull']}x of docker-registry.",
        pulled,
        image,
    )


def oci_push(bench: Bench) -> Row:
    if "oci-push" not in bench.measured:
        _session(bench)
    return bench.measured["oci-push"]


def oci_pull(bench: Bench) -> Row:
    if "oci-pull" not in bench.measured:
        _session(bench)
    return bench.measured["oci-pull"]
