"""``Gateway``: everything a format plugin may ask of the core, bound to one request.

A plugin never touches tables or the blob store directly; it calls these
methods, which check permissions, audit, keep the outbox and renderings in
step, and answer in views rather than ORM objects.

Each concern is a module of this package (reading, transfer of bytes,
publishing and lifecycle, tokens, stored renderings, remote upstreams,
transactions), composed into one class here. None runs SQL of its own: they
delegate to the planes' services and queries, so the facade stays the top of
the core and nothing below imports it.
"""

from artifortress.plugin.gateway.attestations import AttestationsGateway
from artifortress.plugin.gateway.members import MembersGateway
from artifortress.plugin.gateway.publishing import PublishingGateway
from artifortress.plugin.gateway.reading import ReadingGateway
from artifortress.plugin.gateway.remote import RemoteGateway
from artifortress.plugin.gateway.renderings import RenderingsGateway
from artifortress.plugin.gateway.tokens import TokensGateway
from artifortress.plugin.gateway.transactions import TransactionsGateway
from artifortress.plugin.gateway.transfer import TransferGateway

__all__ = ["Gateway"]


class Gateway(
    ReadingGateway,
    MembersGateway,
    RemoteGateway,  # before TransferGateway, which it builds on (send_artifact)
    TransferGateway,
    PublishingGateway,
    TokensGateway,
    RenderingsGateway,
    TransactionsGateway,
    AttestationsGateway,
):
    """The core's services as one request's caller may use them."""
