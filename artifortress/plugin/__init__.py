"""The public plugin API: the only part of Artifortress a plugin may import.

Everything a format plugin needs is re-exported here; importing any other
``artifortress`` module from a plugin fails the lint contract in ``make test``.
"""

from __future__ import annotations

from artifortress import hookimpl
from artifortress.formats import FormatSpec

__all__ = ["FormatSpec", "hookimpl"]
