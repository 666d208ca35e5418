"""The registry token flow: challenges, tokens for scopes, and what a token may do."""

from __future__ import annotations

import base64

import pytest
from oci_images import make_image
from prometheus_client.parser import text_string_to_metric_families

PULL = "repository:containers/app:pull"
PUSH = "repository:containers/app:pull,push"


def basic(user: str, secret: str) -> dict[str, str]:
    encoded = base64.b64encode(f"{user}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def token(client, headers: dict[str, str], *scopes: str) -> str:
    answer = client.simulate_get(
        "/v2/_token", headers=headers, params={"service": "x", "scope": list(scopes)}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json["expires_in"] == 300
    assert answer.json["access_token"] == answer.json["token"]
    return str(answer.json["token"])


@pytest.fixture
def pushed(registry):
    image = make_image()
    assert registry.push_image("app", image, "1.0").status_code == 201
    return image


def test_a_401_challenges_to_the_token_endpoint_with_the_scope(client, registry):
    ping = client.simulate_get("/v2/")
    assert ping.headers["www-authenticate"] == (
        'Bearer realm="http://falconframework.org/v2/_token",service="falconframework.org"'
    )
    put = client.simulate_put("/v2/containers/team/app/manifests/1.0", body=b"{}")
    assert put.status_code == 401
    assert put.headers["www-authenticate"].endswith(
        ',scope="repository:containers/team/app:pull,push"'
    )


def test_a_pull_token_pulls_and_does_not_push(client, api_factory, pushed, registry):
    secret = api_factory.token_for("dev", roles={"containers": ["write"]})
    pull = token(client, basic("dev", secret), PULL)
    got = client.simulate_get("/v2/containers/app/manifests/1.0", headers=bearer(pull))
    assert got.status_code == 200
    assert client.simulate_get("/v2/", headers=bearer(pull)).status_code == 200
    refused = client.simulate_put(
        "/v2/containers/app/manifests/2.0", headers=bearer(pull), body=pushed.manifest
    )
    assert refused.status_code == 403
    assert refused.json["errors"][0]["code"] == "DENIED"
    push = token(client, basic("dev", secret), PUSH)
    again = client.simulate_put(
        "/v2/containers/app/manifests/2.0",
        headers={**bearer(push), "Content-Type": "application/vnd.oci.image.manifest.v1+json"},
        body=pushed.manifest,
    )
    assert again.status_code == 201, again.text


def test_a_token_never_grants_more_than_the_roles(client, api_factory, pushed):
    secret = api_factory.token_for("reader", roles={"containers": ["read"]})
    push = token(client, basic("reader", secret), PUSH)
    refused = client.simulate_post("/v2/containers/app/blobs/uploads/", headers=bearer(push))
    assert refused.status_code == 403


def test_a_token_is_limited_to_the_repositories_of_its_scopes(client, admin, make_repo, pushed):
    make_repo("other", format="oci")
    elsewhere = token(client, admin.headers(), "repository:other/app:pull")
    refused = client.simulate_get("/v2/containers/app/manifests/1.0", headers=bearer(elsewhere))
    assert refused.status_code in (403, 404)


def test_revoking_the_parent_token_ends_its_scoped_tokens(client, api_factory, pushed):
    dev = api_factory.as_user("dev", roles={"containers": ["read"]})
    pull = token(client, dev.headers(), PULL)
    key_id = dev.get("/v1/tokens").json["tokens"][0]["id"]
    assert dev.delete(f"/v1/tokens/{key_id}").status_code in (200, 204)
    after = client.simulate_get("/v2/containers/app/manifests/1.0", headers=bearer(pull))
    assert after.status_code == 401


def test_wrong_credentials_and_forged_tokens_are_401(client, pushed, admin):
    wrong = client.simulate_get(
        "/v2/_token", headers=basic("x", "afpat_" + "a" * 12 + "_" + "b" * 52)
    )
    assert wrong.status_code == 401
    good = token(client, admin.headers(), PULL)
    forged = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    answer = client.simulate_get("/v2/containers/app/manifests/1.0", headers=bearer(forged))
    assert answer.status_code == 401
    assert answer.json["errors"][0]["code"] == "UNAUTHORIZED"


def test_an_anonymous_token_pulls_public_images_only(client, admin, make_repo, registry, pushed):
    anonymous = token(client, {}, PULL)
    private = client.simulate_get("/v2/containers/app/manifests/1.0", headers=bearer(anonymous))
    assert private.status_code == 401
    assert admin.patch("/v1/repos/containers", {"public": True}).status_code == 200
    public = client.simulate_get("/v2/containers/app/manifests/1.0", headers=bearer(anonymous))
    assert public.status_code == 200


def _issued(client) -> float:
    """``GET /v2/_token`` answered 200, from this process's /metrics."""
    text = client.simulate_get("/metrics").text
    for family in text_string_to_metric_families(text):
        if family.name == "artifortress_http_requests":
            return sum(
                sample.value
                for sample in family.samples
                if sample.name.endswith("_total")
                and sample.labels["route"] == "/v2/_token"
                and sample.labels["method"] == "GET"
                and sample.labels["status"] == "200"
            )
    return 0.0


def test_token_issuance_is_counted_in_metrics_and_not_audited(client, admin, pushed):
    audited = admin.get("/v1/audit").json["entries"]
    issued = _issued(client)
    for _ in range(3):
        token(client, admin.headers(), PULL)
    assert _issued(client) == issued + 3
    # A scoped token changes nothing (stored nowhere, never more than its parent):
    # auditing it would write a row for every docker pull.
    assert admin.get("/v1/audit").json["entries"] == audited
