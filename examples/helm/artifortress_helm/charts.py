"""Reading a chart archive's ``Chart.yaml`` (bounded) and rendering ``index.yaml``."""

from __future__ import annotations

import datetime as dt
import tarfile
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from artifortress.plugin import BadRequest, VersionInfo
from artifortress.plugin.archives import GunzipReader, UnpackBudget

MAX_CHART_YAML = 1024 * 1024


def read_chart_yaml(path: Path) -> dict[str, Any]:
    """``Chart.yaml`` of the chart's top directory; 400 for anything else.

    Read within a budget in proportion to the chart's size (a gzip bomb is a 400).
    """
    try:
        with (
            path.open("rb") as raw,
            GunzipReader(raw, UnpackBudget(), what="the chart").tar() as tar,
        ):
            for member in tar:
                parts = member.name.split("/")
                if len(parts) == 2 and parts[1] == "Chart.yaml" and member.isfile():
                    return _parse(tar, member)
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise BadRequest(f"the chart is not a valid .tgz archive: {exc}") from None
    raise BadRequest("the chart has no Chart.yaml in its top directory")


def _parse(archive: tarfile.TarFile, member: tarfile.TarInfo) -> dict[str, Any]:
    if member.size > MAX_CHART_YAML:
        raise BadRequest("Chart.yaml is larger than 1 MiB")
    handle = archive.extractfile(member)
    assert handle is not None
    try:
        doc = yaml.safe_load(handle.read())
    except yaml.YAMLError as exc:
        raise BadRequest(f"Chart.yaml is not valid YAML: {exc}") from None
    if not isinstance(doc, dict) or not doc.get("name") or not doc.get("version"):
        raise BadRequest("Chart.yaml needs a name and a version")
    return {key: value for key, value in doc.items() if isinstance(key, str)}


def render_index(entries: Iterable[tuple[VersionInfo, str]], generated: dt.datetime) -> bytes:
    """``index.yaml`` from (version, absolute chart URL) pairs, newest version first."""
    charts: dict[str, list[dict[str, Any]]] = {}
    for version, url in entries:
        chart = version.artifacts[0]
        doc = {
            **dict(version.metadata),
            "urls": [url],
            "digest": chart.digest.removeprefix("sha256:"),
            "created": (version.published_at or generated).isoformat(),
        }
        charts.setdefault(version.package, []).insert(0, doc)
    index = {"apiVersion": "v1", "entries": charts, "generated": generated.isoformat()}
    text: str = yaml.safe_dump(index, sort_keys=True)
    return text.encode()
