"""The UI's static files, served by the gateway under content-hashed names.

A name such as ``ui.3f2a9c1b0d4e.css`` changes whenever the file does, so a
browser may keep it for a year (``immutable``) and never sees a stale one.
The files ship inside the package (``artifortress/ui/static``): no build
step, no CDN.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent / "static"
MEDIA_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}
LONG_CACHE = ("public", "max-age=31536000", "immutable")


@dataclasses.dataclass(frozen=True)
class Asset:
    hashed_name: str
    media_type: str
    data: bytes


class Assets:
    """Every file of :data:`STATIC_DIR`, read once, by plain and by hashed name."""

    def __init__(self, folder: Path = STATIC_DIR) -> None:
        self._by_plain: dict[str, Asset] = {}
        for path in sorted(folder.iterdir()):
            if path.suffix in MEDIA_TYPES:
                data = path.read_bytes()
                digest = hashlib.sha256(data).hexdigest()[:12]
                hashed = f"{path.stem}.{digest}{path.suffix}"
                self._by_plain[path.name] = Asset(hashed, MEDIA_TYPES[path.suffix], data)
        self._by_hashed = {asset.hashed_name: asset for asset in self._by_plain.values()}

    def url_name(self, plain: str) -> str:
        """The hashed name of file *plain* (``ui.css`` -> ``ui.<hash>.css``)."""
        return self._by_plain[plain].hashed_name

    def get(self, hashed: str) -> Asset | None:
        """The file served as *hashed*, or ``None`` (a stale or made-up name)."""
        return self._by_hashed.get(hashed)
