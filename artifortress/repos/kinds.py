"""The kinds of repository: where its content comes from."""

from __future__ import annotations

#: Content uploaded to it (the original kind).
HOSTED = "hosted"
#: A cache of an upstream registry, filled on demand; refuses uploads.
REMOTE = "remote"
#: The union of other repositories of its format, in order; holds nothing itself.
VIRTUAL = "virtual"

KINDS = (HOSTED, REMOTE, VIRTUAL)
