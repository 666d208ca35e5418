"""A remote Helm repository: the upstream's ``index.yaml``, its charts through the gateway.

The core fetches, caches and verifies (``Gateway.upstream_document`` and
``send_upstream_file``); this module only rewrites the index's chart URLs to the
gateway's ``charts/{name}-{version}.tgz`` and finds a chart's upstream URL
and sha256 digest in the index.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

import falcon
import yaml

from artifortress.plugin import (
    Gateway,
    NotFound,
    RepoInfo,
    UpstreamDocument,
    UpstreamUnavailable,
)

#: Index fields that describe where a chart is, not the chart (kept out of its metadata).
_LOCATION = ("urls", "digest", "created")


def index(gateway: Gateway, repo: RepoInfo) -> bytes:
    """The upstream's index with each chart's URL pointing at this repository."""
    doc = _parse(gateway.upstream_document(repo, "index.yaml"))
    for name, entry in _entries(doc):
        entry["urls"] = [f"charts/{_filename(name, entry)}"]
    text: str = yaml.safe_dump(doc, sort_keys=True)
    return text.encode()


def send_chart(gateway: Gateway, resp: falcon.Response, repo: RepoInfo, filename: str) -> None:
    """Answer with the chart *filename* the index names, checked against its digest."""
    document = gateway.upstream_document(repo, "index.yaml")
    for name, entry in _entries(_parse(document)):
        urls, digest = entry.get("urls"), entry.get("digest")
        if _filename(name, entry) == filename and isinstance(urls, list) and urls:
            if not isinstance(digest, str | None):
                raise _malformed(document, f"the digest of {filename} is no string")
            gateway.send_upstream_file(
                resp,
                repo,
                urljoin(document.url, str(urls[0])),
                package=name,
                version=str(entry["version"]),
                filename=filename,
                sha256=digest,
                media_type="application/gzip",
                metadata={k: v for k, v in entry.items() if k not in _LOCATION},
            )
            return
    raise NotFound(f"the upstream's index.yaml has no chart {filename}")


def _parse(document: UpstreamDocument) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(document.body)
    except yaml.YAMLError:
        doc = None
    if not isinstance(doc, dict) or not isinstance(doc.get("entries") or {}, dict):
        raise _malformed(document, "it is no Helm index")
    return doc


def _malformed(document: UpstreamDocument, why: str) -> UpstreamUnavailable:
    host = urlsplit(document.url).hostname or "the upstream"
    return UpstreamUnavailable(host, f"{host} answered an index.yaml that is malformed: {why}")


def _entries(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(name, entry) of every chart version; what is no list of mappings is passed over."""
    for name, versions in (doc.get("entries") or {}).items():
        for entry in versions if isinstance(versions, list) else ():
            if isinstance(entry, dict) and "version" in entry:
                yield str(name), entry


def _filename(name: str, entry: dict[str, Any]) -> str:
    return f"{name}-{entry['version']}.tgz"
