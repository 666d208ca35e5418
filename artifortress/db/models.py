"""Imports every plane's tables so that ``metadata`` knows all of them."""

from artifortress.audit.models import AuditEntry
from artifortress.auth.models import Token, User
from artifortress.blobs.models import Blob, RepoBlob, UploadSession
from artifortress.documents.models import ChangeCounter, Document
from artifortress.outbox.models import OutboxEvent
from artifortress.policy.models import QuarantineEntry, RepositoryPolicy
from artifortress.rbac.models import Group, GroupMember, GroupRoleBinding, RoleBinding
from artifortress.repos.models import Repository
from artifortress.search.models import SearchDocument
from artifortress.tenants.models import Tenant
from artifortress.versions.models import Artifact, Label, Package, Version
from artifortress.webhooks.models import WebhookDelivery, WebhookSubscription

__all__ = [
    "Artifact",
    "AuditEntry",
    "Blob",
    "ChangeCounter",
    "Document",
    "Group",
    "GroupMember",
    "GroupRoleBinding",
    "Label",
    "OutboxEvent",
    "Package",
    "QuarantineEntry",
    "RepoBlob",
    "Repository",
    "RepositoryPolicy",
    "RoleBinding",
    "SearchDocument",
    "Tenant",
    "Token",
    "UploadSession",
    "User",
    "Version",
    "WebhookDelivery",
    "WebhookSubscription",
]
