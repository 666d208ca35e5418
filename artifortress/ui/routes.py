"""The UI's route table: every page URL in one place (all under ``/ui``)."""

from __future__ import annotations

from typing import Any

from artifortress.ui import account, admin, admin_people, admin_repos, browse, manage, oidc


def ui_routes() -> list[tuple[str, Any]]:
    return [
        ("/ui", browse.HomePage()),
        ("/ui/", browse.HomePage()),
        ("/ui/search", browse.SearchPage()),
        ("/ui/repos/{repo}", browse.RepoPage()),
        ("/ui/repos/{repo}/packages/{name:path}", browse.PackagePage()),
        ("/ui/repos/{repo}/files/{digest}/{filename}", browse.FileDownload()),
        *(
            (f"/ui/repos/{{repo}}/versions/{action}", manage.version_change(action))
            for action in manage.ACTIONS
        ),
        ("/ui/static/{name}", browse.StaticAsset()),
        ("/ui/sign-in", account.SignInPage()),
        ("/ui/sign-in/oidc/{provider}", oidc.OidcSignInStart()),
        ("/ui/sign-in/oidc/{provider}/callback", oidc.OidcCallback()),
        ("/ui/device", oidc.DevicePage()),
        ("/ui/sign-out", account.SignOut()),
        ("/ui/account", account.AccountPage()),
        ("/ui/account/tokens", account.TokensForm()),
        ("/ui/account/tokens/{token_id}/revoke", account.TokenRevoke()),
        ("/ui/admin/quarantine", admin.QuarantinePage()),
        ("/ui/admin/quarantine/{entry_id}/release", admin.QuarantineRelease()),
        ("/ui/admin/quarantine/{entry_id}/reject", admin.QuarantineReject()),
        ("/ui/admin/audit", admin.AuditPage()),
        ("/ui/admin/outbox", admin.OutboxPage()),
        ("/ui/admin/outbox/{event_id}/retry", admin.OutboxRetry()),
        ("/ui/admin/repos/new", admin_repos.NewRepoPage()),
        ("/ui/admin/people", admin_people.PeoplePage()),
        ("/ui/admin/people/users", admin_people.NewUser()),
        ("/ui/admin/people/users/{user}/state", admin_people.UserState()),
        ("/ui/admin/people/users/{user}/tokens", admin_people.UserToken()),
        ("/ui/admin/people/groups", admin_people.NewGroup()),
        ("/ui/admin/people/groups/{group}/members", admin_people.GroupMembers()),
        ("/ui/repos/{repo}/settings", admin_repos.RepoSettingsPage()),
        ("/ui/repos/{repo}/settings/kind", admin_repos.KindForm()),
        ("/ui/repos/{repo}/settings/policy", admin_repos.PolicyForm()),
        ("/ui/repos/{repo}/settings/restore", admin_repos.VersionRestore()),
        ("/ui/repos/{repo}/settings/bindings", admin_repos.UserBindingForm()),
        ("/ui/repos/{repo}/settings/group-bindings", admin_repos.GroupBindingForm()),
        ("/ui/repos/{repo}/webhooks", admin_repos.WebhookForm()),
        ("/ui/repos/{repo}/webhooks/{hook_id}", admin_repos.WebhookDeliveriesPage()),
        ("/ui/repos/{repo}/webhooks/{hook_id}/delete", admin_repos.WebhookDelete()),
    ]
