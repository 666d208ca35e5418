"""Scratch files for plugins: an upload kept on disk while it is checked.

``with scratch_file() as path:`` gives a private temporary file that is
removed afterwards; if the worker is killed meanwhile, the next worker that
starts (or ``artifortress blobs reap``) removes it, instead of it staying in
the temporary folder for good. Use it rather than ``tempfile`` for anything
as large as an upload.
"""

from __future__ import annotations

from artifortress.blobs.heldfiles import scratch_file

__all__ = ["scratch_file"]
