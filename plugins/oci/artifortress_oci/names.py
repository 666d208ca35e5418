"""Names, references and endpoints of ``/v2/<name>/...`` URLs (pure: no core imports).

An image name's first component is the Artifortress repository (``HOST/containers/team/app``
is image ``team/app`` of repository ``containers``); the rest of the URL after the
repository is parsed here into an :class:`Endpoint`.
"""

from __future__ import annotations

import dataclasses
import re
from urllib.parse import urlencode

from artifortress_oci.errors import (
    DIGEST_INVALID,
    MANIFEST_INVALID,
    MANIFEST_UNKNOWN,
    NAME_INVALID,
    NAME_UNKNOWN,
    UNSUPPORTED,
    OciError,
)

_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
NAME = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
#: Clients limit ``host/name`` to 255 characters; a name alone gets the same bound.
MAX_NAME = 255
TAG = re.compile(r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}")
#: A digest's grammar (any algorithm); the only one stored here is sha256.
DIGEST = re.compile(r"[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")
SHA256 = re.compile(r"sha256:[a-f0-9]{64}")

FORMAT_NAME = "oci"
MANIFESTS, BLOBS, UPLOADS, TAGS, REFERRERS = "manifests", "blobs", "uploads", "tags", "referrers"

_ENDPOINT = re.compile(
    r"(?P<image>.+)/(?:"
    r"(?P<kind>manifests|referrers)/(?P<reference>[^/]+)"
    r"|blobs/uploads/?(?P<upload>[^/]*)"
    r"|blobs/(?P<blob>[^/]+)"
    r"|(?P<tags>tags/list))"
)


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """What a URL under ``/v2/{repo}/`` asks for: *kind* of *image*, with a *reference*.

    *reference* is a tag or digest (manifests), a digest (blobs, referrers), an
    upload's reference (``""`` for a new upload) or ``""`` (tags).
    """

    image: str
    kind: str
    reference: str


def parse_endpoint(repo: str, rest: str) -> Endpoint:
    """The endpoint of ``/v2/{repo}/{rest}``; NAME_INVALID for a name outside the grammar."""
    found = _ENDPOINT.fullmatch(rest)
    if found is None:
        raise OciError(NAME_UNKNOWN, f"no registry endpoint at /v2/{repo}/{rest}", 404)
    image = found["image"]
    check_name(f"{repo}/{image}")
    if found["tags"]:
        return Endpoint(image, TAGS, "")
    if found["blob"] is not None:
        return Endpoint(image, BLOBS, found["blob"])
    if found["upload"] is not None:
        return Endpoint(image, UPLOADS, found["upload"])
    return Endpoint(image, found["kind"], found["reference"])


def check_name(name: str) -> None:
    if len(name) > MAX_NAME or not NAME.fullmatch(name):
        raise OciError(
            NAME_INVALID,
            f"invalid repository name {name[:300]!r}: lower-case components of letters and "
            "digits, separated by '.', '_', '__' or dashes, joined by '/'",
        )


def is_digest(reference: str) -> bool:
    return ":" in reference


def check_digest(digest: str) -> str:
    """*digest* if it is a sha256 digest; DIGEST_INVALID (400) otherwise."""
    if SHA256.fullmatch(digest):
        return digest
    if DIGEST.fullmatch(digest):
        raise OciError(DIGEST_INVALID, f"unsupported digest algorithm in {digest!r}: use sha256")
    raise OciError(DIGEST_INVALID, f"invalid digest {digest[:200]!r}")


def check_tag(tag: str) -> str:
    """*tag* if it is a valid tag; MANIFEST_INVALID (400) otherwise."""
    if not TAG.fullmatch(tag):
        raise OciError(
            MANIFEST_INVALID,
            f"invalid tag {tag[:200]!r}: up to 128 letters, digits, '_', '.', '-', "
            "not starting with '.' or '-'",
        )
    return tag


def manifest_digest(reference: str) -> str:
    """The digest a manifest *reference* names (404 for one no manifest can have)."""
    try:
        return check_digest(reference)
    except OciError:
        raise OciError(MANIFEST_UNKNOWN, f"no manifest {reference[:200]!r}", 404) from None


def paginate(names: list[str], last: str | None, n: str | None) -> tuple[list[str], str | None]:
    """The page after *last* of sorted *names*, at most *n* long, and the next page's query.

    ``n=0`` is an empty page without a next one, as the spec says.
    """
    if last is not None:
        names = [name for name in names if name > last]
    if n is None:
        return names, None
    if not n.isdigit() or len(n) > 9:
        raise OciError(UNSUPPORTED, f"n must be a non-negative integer, not {n[:50]!r}")
    limit = int(n)
    page = names[:limit]
    more = limit > 0 and len(names) > limit
    return page, urlencode({"n": limit, "last": page[-1]}) if more else None


# -- how images, manifests and tags are kept in the version model --------------------------

#: A manifest is the version ``sha256-<hex>`` of its image; its bytes are this file.
MANIFEST_FILE = "manifest.json"
#: Tags are labels with this prefix: a label starts with a letter, a tag need not.
TAG_LABEL_PREFIX = "t"
#: The longest label the core keeps, less the prefix.
MAX_STORED_TAG = 63


def version_of(digest: str) -> str:
    """The version number of the manifest *digest*: ``sha256:ab..`` -> ``sha256-ab..``."""
    return digest.replace(":", "-", 1)


def digest_of(version: str) -> str:
    return version.replace("-", ":", 1)


def blob_file(digest: str) -> str:
    """The file name under which a manifest's version keeps a blob it references."""
    return digest.replace(":", "-", 1)


def label_of(tag: str) -> str:
    """The label that keeps *tag*; tags longer than the core's labels are refused."""
    if len(tag) > MAX_STORED_TAG:
        raise OciError(
            MANIFEST_INVALID, f"tag {tag[:200]!r} is too long: at most {MAX_STORED_TAG} characters"
        )
    return TAG_LABEL_PREFIX + tag


def tag_of(label: str) -> str | None:
    return label[len(TAG_LABEL_PREFIX) :] if label.startswith(TAG_LABEL_PREFIX) else None
