"""Every hook a plugin may implement, typed and documented.

Hook names start with ``artifortress_``.  Hooks gain new optional arguments
instead of changing existing ones, because pluggy lets an implementation
accept fewer arguments than the specification names.

They are grouped by when they run, which decides what an implementation may
do: at start-up; inside a request; inside the publish transaction (an error
or a slow answer there fails or holds up the publish); after the change
committed, in the event worker.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from artifortress.formats import FormatSpec, PluginRoute
    from artifortress.outbox.events import Event
    from artifortress.policy.decisions import PolicyDecision, PolicyRequest
    from artifortress.versions.views import VersionInfo

hookspec = pluggy.HookspecMarker("artifortress")


# -- at start-up ---------------------------------------------------------------------


@hookspec
def artifortress_formats() -> Sequence[FormatSpec]:
    """Declare the package formats this plugin provides.

    Called once at start-up.  Returns the plugin's :class:`FormatSpec` objects;
    the results of all plugins are concatenated.  Two plugins declaring the
    same format name is a start-up error.
    """
    raise NotImplementedError


@hookspec
def artifortress_routes() -> Sequence[PluginRoute]:
    """Contribute the HTTP routes of your formats.

    Called once per application at start-up.  Return :class:`PluginRoute`
    objects; each mounts at ``/{format}/{repo}{template}`` for a format some
    plugin declared.  Results of all plugins are concatenated.  A route
    outside a declared format's prefix stops start-up, so no plugin can shadow
    a core URL.  Resources are ordinary Falcon resources; declare permissions
    with :func:`artifortress.plugin.requires`.
    """
    raise NotImplementedError


# -- inside a request ----------------------------------------------------------------


@hookspec(firstresult=True)
def artifortress_normalize_name(format: str, name: str) -> str | None:
    """Normalize a package name of *format* (e.g. PEP 503 for ``pypi``).

    Called whenever a package name enters the core (draft creation, lookups),
    with the name in NFC; names no format may store (invisible characters,
    invalid UTF-8) were refused already.  Return the normalized name, or
    ``None`` if *format* is not yours; the first non-``None`` answer wins.
    Without an answer the name is used as given.
    A plugin may raise :class:`artifortress.plugin.ValidationFailed` for names
    its format forbids.

    :param format: the format of the repository the name is used in.
    :param name: the package name as the client gave it, in NFC.
    """
    raise NotImplementedError


# -- inside the publish transaction --------------------------------------------------


@hookspec
def artifortress_evaluate_policy(request: PolicyRequest) -> PolicyDecision | None:
    """Judge a version about to be published: allow, quarantine or reject it.

    Called synchronously inside the publish transaction, after every file is
    attached and before the version is sealed; ``request`` carries the
    repository, the draft version and the repository's policy settings.
    Return :meth:`PolicyDecision.allow`, :meth:`~PolicyDecision.quarantine`
    (reason) or :meth:`~PolicyDecision.reject` (reason), or ``None`` for no
    opinion.  All answers combine: any reject refuses the publish (the
    client gets the reasons, nothing is stored); else any quarantine seals
    the version invisible to clients until a tenant administrator releases
    it; else it is published.  The built-in policies are implementations of
    this hook too.  Keep it fast and free of side effects.

    :param request: the repository, the draft version with every file, the
        repository's policy settings and the tenant's other package names.
    """
    raise NotImplementedError


# -- after commit, in the event worker -----------------------------------------------


@hookspec
def artifortress_on_event(event: Event) -> None:
    """Handle one committed state change (``version.published``, ``repository.deleted``...).

    Called by ``artifortress worker`` after the change committed, never inside
    a request or its transaction; the built-in search indexer and webhook
    dispatcher subscribe through this same hook.  Each implementation is
    called on its own: if it raises, only it is retried (exponential
    backoff) until ``ARTIFORTRESS_EVENT_MAX_ATTEMPTS``, then the event is
    dead-lettered for an administrator to retry.  Delivery is at least once,
    so make handlers idempotent (``event.id`` is a stable key).  The return
    value is ignored.

    :param event: the committed change, read from the outbox.
    """
    raise NotImplementedError


@hookspec
def artifortress_search_fields(format: str, version: VersionInfo) -> Mapping[str, Any] | None:
    """Contribute the searchable fields of a published *version* of *format*.

    Called by the search indexer (in the worker, and by ``artifortress
    reindex``) for the version a package shows in search: its ``latest``
    label, else its newest one.  Return a mapping with any of ``summary``
    (str), ``description`` (str) and ``keywords`` (a list of str, or a comma
    separated str), or ``None`` for formats that are not yours.  Answers are
    merged field by field: the first non-empty value in pluggy's call order
    wins, and fields nobody gives are read from the version metadata's
    ``summary``, ``description`` and ``keywords``.

    :param format: the format of the version's repository.
    :param version: the published version the package shows in search.
    """
    raise NotImplementedError
