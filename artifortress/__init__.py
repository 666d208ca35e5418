"""Artifortress: a self-hosted artifact repository gateway."""

from __future__ import annotations

import pluggy

__version__ = "0.1.0"

#: Marker for hook implementations in plugins (``@hookimpl``).
hookimpl = pluggy.HookimplMarker("artifortress")

__all__ = ["__version__", "hookimpl"]
