"""The container image the OCI rows push and pull: an OCI image layout written directly.

Several tar+gzip layers of random (incompressible) bytes, of decreasing sizes
as real images have (a large base, smaller layers on top), one config and one
manifest.  Written once into the bench cache; a ``.complete`` marker says the
layout is whole.  The layers are gzip-compressed already, so skopeo sends them
as they are (it would compress uncompressed layers on the way to a registry,
which would time its gzip rather than the registries).
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import json
import os
import shutil
import tarfile
from pathlib import Path

from bench.procs import MiB

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
#: Layer sizes (MiB of random bytes each): 504 MiB in 7 layers; the quick run's 62 MiB in 5.
FULL_LAYERS = (160, 128, 96, 64, 32, 16, 8)
QUICK_LAYERS = (32, 16, 8, 4, 2)
TAG = "bench"
_BLOCK = MiB


@dataclasses.dataclass(frozen=True)
class ImageLayout:
    """An OCI image layout on disk: its folder, the tag in it, its manifest and size."""

    folder: Path
    tag: str
    manifest_digest: str
    size: int  # bytes of every blob (layers, config, manifest)
    layers: int

    @property
    def mib(self) -> int:
        return round(self.size / MiB)


def image_layout(cache: Path, quick: bool) -> ImageLayout:
    """The bench image (built on first use, then read from the cache)."""
    sizes = QUICK_LAYERS if quick else FULL_LAYERS
    folder = cache / f"oci-image-{sum(sizes)}mib"
    if not (folder / ".complete").exists():
        shutil.rmtree(folder, ignore_errors=True)
        _write_layout(folder, sizes)
        (folder / ".complete").touch()
    return _read_layout(folder, len(sizes))


def _write_layout(folder: Path, sizes: tuple[int, ...]) -> None:
    blobs = folder / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    layers = [_write_layer(blobs, n, size * MiB) for n, size in enumerate(sizes)]
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [diff_id for _, diff_id in layers]},
        }
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": _descriptor(OCI_CONFIG, _store(blobs, config), len(config)),
            "layers": [_descriptor(OCI_LAYER, *layer) for layer, _ in layers],
        }
    ).encode()
    manifest_digest = _store(blobs, manifest)
    annotations = {"org.opencontainers.image.ref.name": TAG}
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [_descriptor(OCI_MANIFEST, manifest_digest, len(manifest), annotations)],
    }
    (folder / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (folder / "index.json").write_text(json.dumps(index))


def _write_layer(blobs: Path, number: int, size: int) -> tuple[tuple[str, int], str]:
    """One tar+gzip layer holding *size* random bytes: ((digest, size), diff id)."""
    temporary = blobs / f".layer-{number}"
    # gzip level 1: random bytes do not compress anyway, and building stays quick.
    with (
        temporary.open("wb") as out,
        gzip.GzipFile(fileobj=out, mode="wb", compresslevel=1, mtime=0) as zipped,
    ):
        diff_id = _write_tar(zipped, f"data/layer-{number}.bin", size)
    digest = _file_digest(temporary)
    final = blobs / digest.split(":", 1)[1]
    temporary.rename(final)
    return (digest, final.stat().st_size), diff_id


def _write_tar(out: gzip.GzipFile, name: str, size: int) -> str:
    """A tar of one file of *size* random bytes into *out*; the digest of the tar (its diff id)."""
    sha = hashlib.sha256()
    tee = _Hashing(out, sha)
    with tarfile.open(fileobj=tee, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = size, 0, 0o644
        tar.addfile(info, _RandomReader(size))
    return f"sha256:{sha.hexdigest()}"


class _Hashing(io.RawIOBase):
    """A writable file that hashes what passes through it."""

    def __init__(self, out: gzip.GzipFile, sha: hashlib._Hash) -> None:
        self._out, self._sha = out, sha

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._sha.update(data)
        return self._out.write(data)


class _RandomReader(io.RawIOBase):
    """*size* bytes from ``os.urandom``, read in blocks (never the whole layer in memory)."""

    def __init__(self, size: int) -> None:
        self._left = size

    def readable(self) -> bool:
        return True

    def read(self, count: int = -1) -> bytes:
        count = self._left if count < 0 else min(count, self._left)
        self._left -= count
        return os.urandom(count)


def _store(blobs: Path, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    (blobs / digest.split(":", 1)[1]).write_bytes(data)
    return digest


def _file_digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as source:
        while block := source.read(_BLOCK):
            sha.update(block)
    return f"sha256:{sha.hexdigest()}"


def _descriptor(
    media_type: str, digest: str, size: int, annotations: dict[str, str] | None = None
) -> dict[str, object]:
    found: dict[str, object] = {"mediaType": media_type, "digest": digest, "size": size}
    if annotations:
        found["annotations"] = annotations
    return found


def _read_layout(folder: Path, layers: int) -> ImageLayout:
    index = json.loads((folder / "index.json").read_text())
    size = sum(path.stat().st_size for path in (folder / "blobs" / "sha256").iterdir())
    return ImageLayout(folder, TAG, str(index["manifests"][0]["digest"]), size, layers)


def layout_manifest(folder: Path) -> str:
    """The digest of the first manifest an OCI layout's index lists (a pulled copy's)."""
    return str(json.loads((folder / "index.json").read_text())["manifests"][0]["digest"])
