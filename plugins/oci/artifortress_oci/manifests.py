"""Reading pushed manifests: OCI image manifest and index, Docker schema 2 and manifest list.

Pure: bytes and a ``Content-Type`` in, a :class:`Manifest` (its digest, the blobs
and manifests it references, its subject) out, or :class:`OciError`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from artifortress_oci.errors import MANIFEST_INVALID, OciError
from artifortress_oci.names import DIGEST

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
INDEXES = frozenset({OCI_INDEX, DOCKER_LIST})
MEDIA_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST, *INDEXES})
OCI_IMAGE_CONFIG = "application/vnd.oci.image.config.v1+json"
#: Registries must take manifests of 4 MB; a larger one is a 413.
MAX_MANIFEST = 4 * 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    #: Layers with ``urls`` (Docker's foreign layers) live elsewhere: never uploaded here.
    external: bool = False


@dataclasses.dataclass(frozen=True)
class Manifest:
    media_type: str
    digest: str
    size: int
    #: The config and layers (an image manifest); none for an index.
    blobs: tuple[Descriptor, ...]
    #: The manifests an index lists; none for an image manifest.
    children: tuple[Descriptor, ...]
    subject: Descriptor | None
    artifact_type: str | None
    annotations: Mapping[str, str]

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEXES

    def referrer_metadata(self) -> dict[str, Any]:
        """What the referrers API lists of this manifest, kept with its version."""
        return {
            "media_type": self.media_type,
            "size": self.size,
            "artifact_type": self.artifact_type,
            "subject": self.subject.digest if self.subject else None,
            "annotations": dict(self.annotations),
        }


def parse_manifest(body: bytes, content_type: str | None) -> Manifest:
    """Check a pushed manifest and read what it references."""
    document = _json_object(body)
    if document.get("schemaVersion") != 2:
        raise _invalid("schemaVersion must be 2 (Docker schema 1 is not supported)")
    media_type = _media_type(document, content_type)
    index = media_type in INDEXES
    blobs: tuple[Descriptor, ...] = ()
    children: tuple[Descriptor, ...] = ()
    if index:
        children = tuple(_descriptor(d, "manifests[]") for d in _list(document, "manifests"))
    else:
        config = _descriptor(document.get("config"), "config")
        layers = tuple(_descriptor(d, "layers[]") for d in _list(document, "layers"))
        blobs = (config, *layers)
    subject = document.get("subject")
    return Manifest(
        media_type=media_type,
        digest="sha256:" + hashlib.sha256(body).hexdigest(),
        size=len(body),
        blobs=blobs,
        children=children,
        subject=_descriptor(subject, "subject") if subject is not None else None,
        artifact_type=_artifact_type(document, blobs, index),
        annotations=_annotations(document),
    )


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise _invalid("the manifest is not JSON") from None
    if not isinstance(document, dict):
        raise _invalid("the manifest is not a JSON object")
    return document


def _media_type(document: Mapping[str, Any], content_type: str | None) -> str:
    """The manifest's type: its ``mediaType`` and ``Content-Type`` must agree when both are set."""
    declared = document.get("mediaType")
    header = (content_type or "").split(";")[0].strip().lower() or None
    if declared is not None and not isinstance(declared, str):
        raise _invalid("mediaType must be a string")
    if declared is not None and header is not None and header != declared:
        raise _invalid(
            f"Content-Type {header!r} differs from the manifest's mediaType {declared!r}"
        )
    media_type = declared or header or _implied(document)
    if media_type not in MEDIA_TYPES:
        raise _invalid(
            f"unsupported manifest media type {media_type!r}: use one of {sorted(MEDIA_TYPES)}"
        )
    return media_type


def _implied(document: Mapping[str, Any]) -> str:
    return OCI_INDEX if "manifests" in document else OCI_MANIFEST


def _descriptor(value: Any, where: str) -> Descriptor:
    if not isinstance(value, dict):
        raise _invalid(f"{where} must be a descriptor object")
    media_type, digest, size = value.get("mediaType"), value.get("digest"), value.get("size")
    if not isinstance(media_type, str) or not media_type:
        raise _invalid(f"{where} needs a mediaType")
    if not isinstance(digest, str) or not DIGEST.fullmatch(digest):
        raise _invalid(f"{where} has an invalid digest {str(digest)[:200]!r}")
    if type(size) is not int or size < 0:
        raise _invalid(f"{where} needs a size, a non-negative integer")
    return Descriptor(media_type, digest, size, external=bool(value.get("urls")))


def _list(document: Mapping[str, Any], key: str) -> list[Any]:
    value = document.get(key, [])
    if not isinstance(value, list):
        raise _invalid(f"{key} must be a list")
    return value


def _artifact_type(
    document: Mapping[str, Any], blobs: tuple[Descriptor, ...], index: bool
) -> str | None:
    """``artifactType``, else (image manifests) the config's type when it is not an image's."""
    declared = document.get("artifactType")
    if declared is not None:
        if not isinstance(declared, str):
            raise _invalid("artifactType must be a string")
        return declared
    if not index and blobs and blobs[0].media_type != OCI_IMAGE_CONFIG:
        config_type = blobs[0].media_type
        return None if "docker" in config_type else config_type
    return None


def _annotations(document: Mapping[str, Any]) -> dict[str, str]:
    value = document.get("annotations", {})
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise _invalid("annotations must map strings to strings")
    return value


def _invalid(message: str) -> OciError:
    return OciError(MANIFEST_INVALID, message)
