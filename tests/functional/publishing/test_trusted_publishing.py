"""Trusted publishers and the token exchange, with ID tokens of a real OpenID provider.

The provider (oidc-provider on loopback, tests/support/oidc_idp) plays GitHub Actions:
its accounts carry GitHub-shaped claims, its client ``artifortress`` is the audience.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import falcon.testing
import pytest
from sqlalchemy import select

from artifortress.app import create_app
from artifortress.audit.models import AuditEntry
from artifortress.auth.principal import Caller, Principal
from artifortress.container import Services
from artifortress.publishing.exchange import Exchanger, InvalidToken, exchange
from artifortress.settings import Settings
from artifortress.testing.helpers import Api
from tests.support.oidc_idp import Client, LocalIdP, id_token_for, local_idp

from .exchanges import mint, upload

RELEASE = "octo/app/.github/workflows/release.yml@refs/tags/v1.0"


def github_claims(repository: str = "octo/app", workflow_ref: str = RELEASE) -> dict[str, Any]:
    return {
        "repository": repository,
        "repository_owner": repository.split("/")[0],
        "workflow_ref": workflow_ref,
        "job_workflow_ref": workflow_ref,
        "ref": "refs/tags/v1.0",
        "environment": "release",
        "run_id": "42",
    }


GITLAB = "project_path:group/app:ref_type:tag:ref:v1.0"
ACCOUNTS = {
    "repo:octo/app:environment:release": github_claims(),
    "repo:octo/fork:environment:release": github_claims(
        "octo/fork", "octo/fork/.github/workflows/release.yml@refs/tags/v1.0"
    ),
    "repo:octo/app:other-workflow": github_claims(
        workflow_ref="octo/app/.github/workflows/nightly.yml@refs/heads/main"
    ),
    GITLAB: {
        "project_path": "group/app",
        "ci_config_ref_uri": "gitlab.example/group/app//.gitlab-ci.yml@refs/tags/v1.0",
        "ref_path": "refs/tags/v1.0",
        "environment": "release",
        "pipeline_id": "9",
    },
}
CI = "repo:octo/app:environment:release"
CLIENTS = [
    Client("artifortress", "ci-secret", ["http://127.0.0.1:9/cb"]),
    Client("elsewhere", "other-secret", ["http://127.0.0.1:9/other"]),
]


@pytest.fixture(scope="module")
def idp() -> Iterator[LocalIdP]:
    with local_idp(CLIENTS, ACCOUNTS) as running:
        yield running


def audit_rows(services: Services, action: str) -> list[AuditEntry]:
    with services.sessions() as db:
        return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_registering_listing_and_deleting_publishers(
    admin: Api, api_factory: Any, publish_to: Callable[..., dict[str, Any]]
) -> None:
    made = publish_to("pub", environment="release", ref="refs/tags/*")
    assert made["repository"] == "octo/app"
    assert made["environment"] == "release"
    assert admin.get("/v1/repos/pub/trusted-publishers").json["publishers"] == [made]
    reader = api_factory.as_user("reader", roles={"pub": ["write"]})
    assert reader.get("/v1/repos/pub/trusted-publishers").status_code == 403
    assert reader.delete(f"/v1/repos/pub/trusted-publishers/{made['id']}").status_code == 403
    bad = [
        {"kind": "github", "repository": "octo/app"},  # no workflow
        {"kind": "github", "repository": "app", "workflow": "r.yml"},
        {"kind": "github", "repository": "o/a", "workflow": "r.yml", "issuer": "http://x.org"},
        {"kind": "oidc", "issuer": "https://idp.example", "claims": {"aud": "x"}},
        {"kind": "svn", "repository": "o/a"},
    ]
    for body in bad:
        refused = admin.post("/v1/repos/pub/trusted-publishers", body)
        assert refused.status_code == 400, (body, refused.text)
    gone = admin.delete(f"/v1/repos/pub/trusted-publishers/{made['id']}")
    assert gone.status_code == 200
    assert admin.get(f"/v1/repos/pub/trusted-publishers/{made['id']}").status_code == 404


def test_the_audience_is_announced_where_pypi_clients_look(client: Any) -> None:
    assert client.simulate_get("/_/oidc/audience").json == {"audience": "artifortress"}


def test_a_minted_token_publishes_to_its_repository_only(
    client: Any,
    services: Services,
    publish_to: Callable[..., dict[str, Any]],
    make_repo: Callable[..., dict[str, Any]],
    idp: LocalIdP,
) -> None:
    publisher = publish_to("pub")
    make_repo("other")
    make_repo("readable", public=True)
    minted = mint(client, id_token_for(idp, CI, "artifortress"))
    assert minted.status_code == 200, minted.text
    body = minted.json
    assert body["success"] is True
    assert body["repository"] == "pub"
    assert body["expires"] - time.time() <= 3
    token = body["token"]
    assert upload(client, token, "pub") == 201
    assert upload(client, token, "other") in (403, 404)
    assert upload(client, token, "readable") in (403, 404)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.simulate_post("/v1/repos", json={"key": "x"}, headers=headers).status_code == 403
    assert (
        client.simulate_post("/v1/tokens", json={"name": "t"}, headers=headers).status_code == 403
    )
    [row] = audit_rows(services, "publisher.exchange")
    assert (row.outcome, row.repo_key, row.target) == ("success", "pub", str(publisher["id"]))
    assert row.details["claims"]["repository"] == "octo/app"
    assert row.details["claims"]["job_workflow_ref"] == RELEASE
    assert "token" not in row.details
    assert token not in str(row.details)


def test_the_minted_token_carries_the_publisher_identity(
    client: Any, services: Services, publish_to: Callable[..., dict[str, Any]], idp: LocalIdP
) -> None:
    publish_to("pub")
    token = mint(client, id_token_for(idp, CI, "artifortress")).json["token"]
    principal = services.authenticator.authenticate(token)
    assert principal.publisher is not None
    assert {k: principal.publisher[k] for k in ("issuer", "repository", "workflow")} == {
        "issuer": idp.issuer,
        "repository": "octo/app",
        "workflow": "release.yml",
    }
    assert principal.publisher["environment"] == "release"
    assert principal.repo_scopes == frozenset({"pub"})
    parent = f"/v1/tokens/{principal.token_key_id}"
    refused = client.simulate_delete(parent, headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 403  # a leaked minted token cannot end its publisher
    assert services.authenticator.authenticate(token).publisher is not None
    whoami = client.simulate_get("/v1/whoami", headers={"Authorization": f"Bearer {token}"})
    assert whoami.json["publisher"] == principal.publisher
    assert whoami.json["repos"] == ["pub"]
    assert not principal.is_admin


def test_the_minted_token_expires(
    client: Any, publish_to: Callable[..., dict[str, Any]], idp: LocalIdP
) -> None:
    publish_to("pub")
    token = mint(client, id_token_for(idp, CI, "artifortress")).json["token"]
    assert upload(client, token, "pub", "early.txt") == 201
    time.sleep(4.1)  # settings_overrides: a 3 s lifetime
    assert upload(client, token, "pub", "late.txt") == 401


def test_claims_that_do_not_match_are_refused_naming_the_claim(
    client: Any, services: Services, publish_to: Callable[..., dict[str, Any]], idp: LocalIdP
) -> None:
    publish_to("pub")
    for account, claim in [
        ("repo:octo/fork:environment:release", "'repository'"),
        ("repo:octo/app:other-workflow", "'job_workflow_ref'"),
    ]:
        refused = mint(client, id_token_for(idp, account, "artifortress"))
        assert refused.status_code == 422, refused.text
        [error] = refused.json["errors"]
        assert error["code"] == "invalid-publisher"
        assert claim in error["description"]
    denied = audit_rows(services, "publisher.exchange")
    assert [row.outcome for row in denied] == ["denied", "denied"]
    assert denied[0].details["claims"]["repository"] == "octo/fork"


def test_an_environment_or_ref_constraint_must_match(
    client: Any, publish_to: Callable[..., dict[str, Any]], idp: LocalIdP
) -> None:
    publish_to("pub", environment="production")
    refused = mint(client, id_token_for(idp, CI, "artifortress"))
    assert "'environment'" in refused.json["errors"][0]["description"]
    publish_to("tagged", ref="refs/tags/v*")
    assert mint(client, id_token_for(idp, CI, "artifortress")).json["repository"] == "tagged"


def test_a_replayed_or_foreign_token_is_refused(
    client: Any, publish_to: Callable[..., dict[str, Any]], idp: LocalIdP
) -> None:
    publish_to("pub")
    id_token = id_token_for(idp, CI, "artifortress")
    assert mint(client, id_token).status_code == 200
    replayed = mint(client, id_token)
    assert replayed.status_code == 422
    assert replayed.json["errors"][0]["code"] == "invalid-token"
    assert "already exchanged" in replayed.json["errors"][0]["description"]
    foreign = mint(client, id_token_for(idp, CI, "elsewhere"))  # another audience
    assert "audience" in foreign.json["errors"][0]["description"]
    for payload in ({"token": 1}, {"jwt": "x"}, ["x"]):
        bad = client.simulate_post("/_/oidc/mint-token", json=payload)
        assert (bad.status_code, bad.json["errors"][0]["code"]) == (422, "invalid-payload")
    garbage = mint(client, "not.a.jwt")
    assert garbage.json["errors"][0]["code"] == "invalid-token"


def test_an_expired_id_token_is_refused(
    services: Services, publish_to: Callable[..., dict[str, Any]]
) -> None:
    with local_idp(CLIENTS, ACCOUNTS, id_token_ttl=1) as short_lived:
        publish_to("pub", issuer=short_lived.issuer)
        id_token = id_token_for(short_lived, CI, "artifortress")
        time.sleep(2.1)
        exchanger = Exchanger(
            services.issuer_keys, services.authenticator, "artifortress", 60, leeway_seconds=0
        )
        caller = Caller(Principal(tenant_id=services.default_tenant_id()))
        with services.sessions() as db, pytest.raises(InvalidToken, match="expired"):
            exchange(db, exchanger, caller, id_token)


def test_deleting_the_publisher_kills_its_tokens(
    client: Any, admin: Api, publish_to: Callable[..., dict[str, Any]], idp: LocalIdP
) -> None:
    publisher = publish_to("pub")
    token = mint(client, id_token_for(idp, CI, "artifortress")).json["token"]
    assert upload(client, token, "pub", "before.txt") == 201
    assert admin.delete(f"/v1/repos/pub/trusted-publishers/{publisher['id']}").status_code == 200
    assert upload(client, token, "pub", "after.txt") == 401
    refused = mint(client, id_token_for(idp, CI, "artifortress"))
    assert refused.json["errors"][0]["code"] == "invalid-publisher"


def test_a_token_trusted_by_two_repositories_names_one_through_v1(
    client: Any, publish_to: Callable[..., dict[str, Any]], idp: LocalIdP
) -> None:
    publish_to("first")
    publish_to("second")
    ambiguous = mint(client, id_token_for(idp, CI, "artifortress"))
    assert "several repositories" in ambiguous.json["errors"][0]["description"]
    named = client.simulate_post(
        "/v1/oidc/token",
        json={"token": id_token_for(idp, CI, "artifortress"), "repository": "second"},
    )
    assert named.status_code == 200, named.text
    assert named.json["repository"] == "second"
    assert upload(client, named.json["token"], "second") == 201
    assert upload(client, named.json["token"], "first") in (403, 404)
    unknown = client.simulate_post(
        "/v1/oidc/token",
        json={"token": id_token_for(idp, CI, "artifortress"), "repository": "third"},
    )
    assert unknown.status_code == 403
    assert unknown.json["error"]["code"] == "invalid_publisher"


def test_pypis_endpoint_considers_pypi_repositories_only(
    client: Any, publish_to: Callable[..., dict[str, Any]], idp: LocalIdP
) -> None:
    publish_to("js", format="npm")
    refused = mint(client, id_token_for(idp, CI, "artifortress"))
    assert "on a pypi repository" in refused.json["errors"][0]["description"]
    publish_to("py")
    minted = mint(client, id_token_for(idp, CI, "artifortress"))
    assert minted.json["repository"] == "py"


def test_gitlab_and_generic_oidc_publishers(
    client: Any, admin: Api, make_repo: Callable[..., dict[str, Any]], idp: LocalIdP
) -> None:
    make_repo("gl", "pypi")
    gitlab = {"kind": "gitlab", "issuer": idp.issuer, "project": "group/app"}
    made = admin.post("/v1/repos/gl/trusted-publishers", gitlab | {"workflow": ".gitlab-ci.yml"})
    assert made.status_code == 201, made.text
    minted = mint(client, id_token_for(idp, GITLAB, "artifortress"))
    assert minted.json["repository"] == "gl"
    assert upload(client, minted.json["token"], "gl") == 201
    make_repo("any", "npm")
    claims = {"sub": GITLAB, "pipeline_id": "9"}
    made = admin.post(
        "/v1/repos/any/trusted-publishers", {"kind": "oidc", "issuer": idp.issuer, "claims": claims}
    )
    assert made.status_code == 201, made.text
    body = {"repository": "any", "token": id_token_for(idp, GITLAB, "artifortress")}
    exchanged = client.simulate_post("/v1/oidc/token", json=body)
    assert exchanged.status_code == 200, exchanged.text
    body = {"repository": "any", "token": id_token_for(idp, CI, "artifortress")}
    refused = client.simulate_post("/v1/oidc/token", json=body)
    assert refused.status_code == 403
    assert "'sub'" in refused.json["error"]["message"]


def test_a_replay_to_another_node_is_refused(
    client: Any, settings: Settings, publish_to: Callable[..., dict[str, Any]], idp: LocalIdP
) -> None:
    """Two nodes (their own Services, caches and keys) on one database."""
    publish_to("pub")
    id_token = id_token_for(idp, CI, "artifortress")
    assert mint(client, id_token).status_code == 200
    other = Services.build(settings)
    try:
        replayed = mint(falcon.testing.TestClient(create_app(other)), id_token)
    finally:
        other.close()
    assert replayed.status_code == 422
    assert "already exchanged" in replayed.json["errors"][0]["description"]
