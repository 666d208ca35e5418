"""Remote repositories: the upstream's project pages, rewritten to the gateway, and its files.

A remote's upstream URL is the upstream's ``/simple/`` URL; a project page is
``{upstream}{name}/``, asked for as PEP 691 JSON (HTML accepted), and kept by
the core for the remote's ``metadata_ttl``. Every file URL the page shows is
the gateway's ``files/{name}/{version}/{filename}``, so clients download only
through the gateway; hashes, ``requires-python``, yanking (with its reason)
and the PEP 658 core metadata hash pass through as the upstream gave them.
A file is fetched on its first request, verified against the sha256 the
upstream's page announced (a mismatch is a 502 and nothing is stored), and
kept in the remote as version ``{version}`` (:func:`filenames.version_key`)
of the project; the request that fetches it gets its bytes as they arrive
(``Gateway.send_upstream_file``), so a large wheel's first bytes do not wait
for the whole download (pip gives up after 15 seconds without a byte).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

import falcon

from artifortress.plugin import Gateway, NotFound, RecentCache, RepoInfo, UpstreamDocument
from artifortress_pypi.filenames import belongs_to, version_key
from artifortress_pypi.hosted import FILES_FROM_PROJECT
from artifortress_pypi.listings import FILES_KEPT, Listing
from artifortress_pypi.protocol import translated
from artifortress_pypi.simple import DistFile
from artifortress_pypi.upstream_pages import ACCEPT, UpstreamPage, parse_page

METADATA_SUFFIX = ".metadata"
METADATA_MEDIA_TYPE = "text/plain; charset=utf-8"


Read = tuple[UpstreamPage, Listing]
#: What names one fetch of an upstream page: (repository id, project, URL, fetched at).
Fetch = tuple[int, str, str, datetime]


#: What this process read of upstream pages, per document fetch.
_RECENT: RecentCache[Read] = RecentCache(lambda read: len(read[0].files), FILES_KEPT)


def upstream_page(gateway: Gateway, repo: RepoInfo, name: str) -> Read:
    """The upstream's page of project *name* (normalized), and the remote's listing of it.

    Files of other projects the page lists are left out, as pip leaves them.

    NotFound when the upstream has no such project; UpstreamUnavailable (502)
    when it cannot be asked and no copy is at hand.
    """
    return upstream_read(gateway, repo, name)[1]


def upstream_read(gateway: Gateway, repo: RepoInfo, name: str) -> tuple[Fetch, Read]:
    """:func:`upstream_page`, with what names the fetch it came from (each fetch its own)."""
    document = gateway.upstream_document(repo, f"{name}/", accept=ACCEPT)
    key = (repo.id, name, document.url, document.fetched_at)
    read = _RECENT.get(key)
    if read is None:
        read = _read(name, document)
        _RECENT.put(key, read)
    return key, read


def _read(name: str, document: UpstreamDocument) -> Read:
    with translated():
        page = parse_page(document.body, document.content_type, document.url)
    page = dataclasses.replace(
        page, files=tuple(f for f in page.files if belongs_to(name, f.filename))
    )
    files = [_through_gateway(name, file) for file in page.files]
    versions = page.versions or list(dict.fromkeys(_version(name, f) for f in page.files))
    return page, Listing(files, versions, document.fetched_at)


def _through_gateway(name: str, file: DistFile) -> DistFile:
    """*file* with the gateway's URL; provenance stays upstream, so it is not offered."""
    url = f"{FILES_FROM_PROJECT}{name}/{_version(name, file)}/{file.filename}"
    return dataclasses.replace(file, url=url, provenance_url=None)


def _version(name: str, file: DistFile) -> str:
    return version_key(name, file.filename)


def send(
    gateway: Gateway,
    resp: falcon.Response,
    repo: RepoInfo,
    name: str,
    version: str,
    filename: str,
) -> None:
    """Answer with *filename* (a distribution or its ``.metadata``), fetched into remote *repo*.

    Its URL and sha256 come from the upstream's current page, never from the
    request. NotFound if the page does not list it under this *version*.
    """
    distribution = filename.removesuffix(METADATA_SUFFIX)
    page, _listing = upstream_page(gateway, repo, name)
    entry = next((f for f in page.files if f.filename == distribution), None)
    if entry is None or version_key(name, distribution) != version:
        raise NotFound(f"no file {filename} of {name} {version} upstream of {repo.key}")
    url, sha256, media_type = entry.url, entry.sha256, _media_type(distribution)
    if filename != distribution:  # PEP 658: announced, with a hash, or not served
        if entry.core_metadata_sha256 is None:
            raise NotFound(f"no core metadata file {filename} upstream of {repo.key}")
        url, sha256, media_type = (
            url + METADATA_SUFFIX,
            entry.core_metadata_sha256,
            METADATA_MEDIA_TYPE,
        )
    gateway.send_upstream_file(
        resp,
        repo,
        url,
        package=name,
        version=version,
        filename=filename,
        sha256=sha256,
        media_type=media_type,
    )


def _media_type(filename: str) -> str:
    if filename.endswith((".whl", ".zip", ".egg")):
        return "application/zip"
    if filename.endswith((".tar.gz", ".tgz")):
        return "application/gzip"
    return "application/octet-stream"
