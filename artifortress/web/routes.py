"""The route table: every core URL in one place.

Format plugins mount their own routes under ``/{format}/``
(:mod:`artifortress.web.plugin_routes`); they cannot shadow anything listed here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from artifortress.audit.resources import AuditResource, RepoAuditResource
from artifortress.auth.resources import (
    TokenResource,
    TokensResource,
    UserResource,
    UsersResource,
    WhoAmIResource,
)
from artifortress.blobs.resources import (
    BlobResource,
    UploadCompleteResource,
    UploadPartResource,
    UploadResource,
    UploadsResource,
)
from artifortress.identity.resources import (
    DeviceResource,
    DeviceTokenResource,
    ProvidersResource,
)
from artifortress.outbox.metrics import outbox_gauges
from artifortress.outbox.resources import OutboxResource, OutboxRetryResource
from artifortress.policy.resources import (
    QuarantineRejectResource,
    QuarantineReleaseResource,
    QuarantineResource,
    RepoPolicyResource,
)
from artifortress.publishing.resources import (
    AudienceResource,
    MintTokenResource,
    OidcTokenResource,
    TrustedPublisherResource,
    TrustedPublishersResource,
)
from artifortress.rbac.resources import (
    GroupBindingResource,
    GroupMemberResource,
    GroupResource,
    GroupsResource,
)
from artifortress.remote.resources import RemoteCacheResource
from artifortress.repos.resources import (
    BindingResource,
    BindingsResource,
    RepoResource,
    ReposResource,
)
from artifortress.search.resources import SearchResource
from artifortress.versions.resources import package_routes
from artifortress.web.docs import DocsAssetResource, DocsPageResource, default_folder
from artifortress.web.openapi import build_document
from artifortress.web.ops import (
    HealthResource,
    MetricsResource,
    OpenAPIResource,
    ReadyResource,
    blob_store_check,
    database_check,
    redis_check,
)
from artifortress.web.product_metrics import InventoryGauges
from artifortress.web.route import Route
from artifortress.webhooks.resources import (
    WebhookDeliveriesResource,
    WebhookResource,
    WebhooksResource,
)

if TYPE_CHECKING:
    from artifortress.container import Services


def core_routes(services: Services) -> list[Route]:
    """Every core route; ``/v1/openapi.json`` describes those of ``/v1/`` and operations."""
    routes = [
        *operations_routes(services),
        Route("/v1/whoami", WhoAmIResource(), "tokens"),
        Route("/v1/tokens", TokensResource(), "tokens"),
        Route("/v1/tokens/{token_id}", TokenResource(), "tokens"),
        Route("/v1/users", UsersResource(), "users"),
        Route("/v1/users/{user}", UserResource(), "users"),
        Route("/v1/groups", GroupsResource(), "groups"),
        Route("/v1/groups/{group}", GroupResource(), "groups"),
        Route("/v1/groups/{group}/members/{user}", GroupMemberResource(), "groups"),
        Route("/v1/oidc/providers", ProvidersResource(), "identity"),
        Route("/v1/oidc/device", DeviceResource(), "identity"),
        Route("/v1/oidc/device/token", DeviceTokenResource(), "identity"),
        Route("/v1/repos", ReposResource(), "repositories"),
        Route("/v1/repos/{repo}", RepoResource(), "repositories"),
        Route("/v1/repos/{repo}/bindings", BindingsResource(), "rbac"),
        Route("/v1/repos/{repo}/bindings/{user}", BindingResource(), "rbac"),
        Route("/v1/repos/{repo}/group-bindings/{group}", GroupBindingResource(), "rbac"),
        Route("/v1/repos/{repo}/audit", RepoAuditResource(), "audit"),
        Route("/v1/repos/{repo}/cache", RemoteCacheResource(), "repositories"),
        Route("/v1/repos/{repo}/uploads", UploadsResource(), "blobs"),
        Route("/v1/repos/{repo}/uploads/{upload_id}", UploadResource(), "blobs"),
        Route("/v1/repos/{repo}/uploads/{upload_id}/parts/{n}", UploadPartResource(), "blobs"),
        Route("/v1/repos/{repo}/uploads/{upload_id}/complete", UploadCompleteResource(), "blobs"),
        Route("/v1/repos/{repo}/blobs/{digest}", BlobResource(), "blobs"),
        Route("/v1/audit", AuditResource(), "audit"),
        Route("/v1/search", SearchResource(), "search"),
        Route("/v1/repos/{repo}/policy", RepoPolicyResource(), "policy"),
        Route("/v1/quarantine", QuarantineResource(), "policy"),
        Route("/v1/quarantine/{quarantine_id}/release", QuarantineReleaseResource(), "policy"),
        Route("/v1/quarantine/{quarantine_id}/reject", QuarantineRejectResource(), "policy"),
        Route("/v1/repos/{repo}/webhooks", WebhooksResource(), "webhooks"),
        Route("/v1/repos/{repo}/webhooks/{hook_id}", WebhookResource(), "webhooks"),
        Route(
            "/v1/repos/{repo}/webhooks/{hook_id}/deliveries",
            WebhookDeliveriesResource(),
            "webhooks",
        ),
        Route("/v1/repos/{repo}/trusted-publishers", TrustedPublishersResource(), "publishing"),
        Route(
            "/v1/repos/{repo}/trusted-publishers/{publisher_id}",
            TrustedPublisherResource(),
            "publishing",
        ),
        Route("/v1/oidc/token", OidcTokenResource(), "publishing"),
        # Where PyPI's trusted-publishing clients look, at the host's root.
        Route("/_/oidc/audience", AudienceResource(), "publishing"),
        Route("/_/oidc/mint-token", MintTokenResource(), "publishing"),
        Route("/_/oidc/github/mint-token", MintTokenResource(), "publishing"),
        Route("/v1/admin/outbox", OutboxResource(), "events"),
        Route("/v1/admin/outbox/{event_id}/retry", OutboxRetryResource(), "events"),
        *(Route(path, resource, "packages") for path, resource in package_routes()),
        Route("/v1/docs", DocsPageResource(default_folder()), "operations"),
        Route("/v1/docs/{asset}", DocsAssetResource(default_folder()), "operations"),
    ]

    routes.append(
        Route(
            "/v1/openapi.json",
            OpenAPIResource(lambda: build_document(routes, services.formats)),
            "operations",
        )
    )
    return routes


def operations_routes(services: Services) -> list[Route]:
    """``/healthz``, ``/readyz`` (what each probe checks) and ``/metrics``."""
    optional = (
        {"redis": redis_check(services.settings.redis_url)} if services.settings.redis_url else {}
    )
    checks = {
        "database": database_check(services.engine),
        "blob_store": blob_store_check(services.blobs),
    }
    gauges: list[Callable[[], bytes]] = [
        outbox_gauges(services),
        InventoryGauges(services.sessions),
    ]
    return [
        Route("/healthz", HealthResource(), "operations"),
        Route("/readyz", ReadyResource(checks, optional=optional), "operations"),
        Route("/metrics", MetricsResource(gauges), "operations"),
    ]
