"""What a responder declares for the OpenAPI document beyond what its code shows.

Resources of every plane decorate their responders with :func:`answers` and
:func:`responds`, and mark schemas with :data:`INSTALLED_FORMATS`; the builder
of the document (:mod:`artifortress.web.openapi`) reads these marks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

#: Marks a schema whose values are the installed format names, filled in by the builder.
INSTALLED_FORMATS = "x-artifortress-installed-formats"
#: Attribute holding the statuses a responder declares, read by the builder.
STATUSES_ATTR = "__artifortress_statuses__"
#: Attribute holding response objects a responder declares whole (a body that is not JSON).
RESPONSES_ATTR = "__artifortress_responses__"
Responder = TypeVar("Responder", bound=Callable[..., Any])


def answers(*statuses: int) -> Callable[[Responder], Responder]:
    """Declare the statuses a responder answers beyond those its route implies.

    Implied (see :mod:`artifortress.web.openapi`): 401 and 403 from its
    permission, 400 for parameters or a body, 404 for path parameters, 409 for
    writes, 413 for a JSON body, 503 always.  A declared success or
    redirect status replaces the default success (201 for POST, 200 otherwise).
    """

    def decorate(responder: Responder) -> Responder:
        setattr(responder, STATUSES_ATTR, (*getattr(responder, STATUSES_ATTR, ()), *statuses))
        return responder

    return decorate


def responds(responses: dict[int, dict[str, Any]]) -> Callable[[Responder], Responder]:
    """Declare whole response objects (description, content) by status.

    For answers that are not the JSON of the implied ones: an HTML page, the
    Prometheus text, a readiness report whose 503 is not an error object.
    Each replaces what the builder would write for its status.
    """

    def decorate(responder: Responder) -> Responder:
        setattr(responder, RESPONSES_ATTR, {**getattr(responder, RESPONSES_ATTR, {}), **responses})
        return answers(*responses)(responder)

    return decorate
