"""``metadata`` with every plane's tables: for what compares or empties them all.

A plane's tables join :data:`artifortress.db.base.metadata` when its ``models``
module is imported.  The running app imports every plane through its route
table, but Alembic's environment (``migrations/env.py``), the migration test
and the test database reset read the metadata without the app: they take it
from here, so that no table is missing (a missing one would look dropped).
This module sits above the planes, not in ``db/``, which they all build on.
"""

from artifortress.audit.models import AuditEntry
from artifortress.auth.models import Token, User
from artifortress.auth.web_sessions import WebSession
from artifortress.blobs.models import Blob, RepoBlob, UploadSession
from artifortress.db.base import metadata
from artifortress.identity.models import DeviceLogin, ExternalIdentity, PendingSignIn
from artifortress.outbox.models import OutboxEvent
from artifortress.policy.models import QuarantineEntry, RepositoryPolicy
from artifortress.publishing.models import TrustedPublisher, UsedIdToken
from artifortress.rbac.models import Group, GroupMember, GroupRoleBinding, RoleBinding
from artifortress.remote.models import RemoteDocument, RemoteFetch
from artifortress.renderings.models import ChangeCounter, Document
from artifortress.repos.models import (
    Repository,
    RepositoryUpstream,
    RepositoryVirtual,
    VirtualMember,
)
from artifortress.search.models import SearchDocument
from artifortress.tenants.models import Tenant
from artifortress.versions.models import Artifact, Label, Package, Version
from artifortress.webhooks.models import WebhookDelivery, WebhookSubscription

__all__ = [
    "Artifact",
    "AuditEntry",
    "Blob",
    "ChangeCounter",
    "DeviceLogin",
    "Document",
    "ExternalIdentity",
    "Group",
    "GroupMember",
    "GroupRoleBinding",
    "Label",
    "OutboxEvent",
    "Package",
    "PendingSignIn",
    "QuarantineEntry",
    "RemoteDocument",
    "RemoteFetch",
    "RepoBlob",
    "Repository",
    "RepositoryPolicy",
    "RepositoryUpstream",
    "RepositoryVirtual",
    "RoleBinding",
    "SearchDocument",
    "Tenant",
    "Token",
    "TrustedPublisher",
    "UploadSession",
    "UsedIdToken",
    "User",
    "Version",
    "VirtualMember",
    "WebSession",
    "WebhookDelivery",
    "WebhookSubscription",
    "metadata",
]
