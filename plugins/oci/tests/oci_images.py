"""Small images and artifacts built in Python: blobs, manifests, indexes (for the tests)."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def descriptor(media_type: str, data: bytes, **extra: Any) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": digest(data), "size": len(data), **extra}


@dataclasses.dataclass
class Image:
    """An image manifest with its config and layers, as bytes."""

    config: bytes
    layers: list[bytes]
    manifest: bytes

    @property
    def digest(self) -> str:
        return digest(self.manifest)

    @property
    def blobs(self) -> list[bytes]:
        return [self.config, *self.layers]


def make_image(
    seed: str = "a",
    layers: int = 2,
    media_type: str = OCI_MANIFEST,
    subject: bytes | None = None,
    artifact_type: str | None = None,
    shared_layers: tuple[bytes, ...] = (),
) -> Image:
    config = json.dumps(
        {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}
        | {"seed": seed}
    ).encode()
    blobs = [f"layer {n} of {seed} ".encode() * (100 + n) for n in range(layers)]
    blobs += shared_layers  # layers of other images, as base images share theirs
    document: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": descriptor(OCI_CONFIG, config),
        "layers": [descriptor(OCI_LAYER, b) for b in blobs],
    }
    if artifact_type is not None:
        document["artifactType"] = artifact_type
    if subject is not None:
        document["subject"] = descriptor(OCI_MANIFEST, subject)
    return Image(config, blobs, json.dumps(document).encode())


def make_index(*images: Image) -> bytes:
    manifests = [
        descriptor(OCI_MANIFEST, image.manifest, platform={"architecture": arch, "os": "linux"})
        for image, arch in zip(images, ["amd64", "arm64", "s390x"], strict=False)
    ]
    return json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}).encode()


def _tar_gz(files: dict[str, bytes]) -> tuple[bytes, str]:
    """A gzipped tar of *files*, and the digest of the uncompressed tar (its diff id)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0), digest(raw.getvalue())


def write_layout(folder: Path, tag: str, layers: int = 2) -> str:
    """An OCI image layout at *folder* holding one image of real tar+gzip layers under *tag*.

    Returns the manifest's digest: what a copy of the image must keep.
    """
    blobs = folder / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    compressed = [
        _tar_gz({f"data/{n}.txt": f"layer {n}\n".encode() * (n + 1)}) for n in range(layers)
    ]
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [diff_id for _, diff_id in compressed]},
        }
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": descriptor(OCI_CONFIG, config),
            "layers": [descriptor(OCI_LAYER, layer) for layer, _ in compressed],
        }
    ).encode()
    for blob in (config, manifest, *(layer for layer, _ in compressed)):
        (blobs / digest(blob).split(":")[1]).write_bytes(blob)
    (folder / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    annotations = {"org.opencontainers.image.ref.name": tag}
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [descriptor(OCI_MANIFEST, manifest, annotations=annotations)],
    }
    (folder / "index.json").write_text(json.dumps(index))
    return digest(manifest)


def layout_digest(folder: Path) -> str:
    """The digest of the first manifest an OCI layout's index lists."""
    return str(json.loads((folder / "index.json").read_text())["manifests"][0]["digest"])
