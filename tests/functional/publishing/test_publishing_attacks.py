"""Trusted publishing under attack: what a leaked token, a hostile CI job or a careless
operator can do with the exchange and the tokens it mints.

ID tokens come from the real test IdP (oidc-provider on loopback); its accounts are
shaped as an attacker would shape the claims of an issuer they control.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import tarfile
import time
from collections.abc import Callable, Iterator
from typing import Any

import falcon.testing
import pytest

from artifortress.container import Services
from artifortress.testing.helpers import Api
from tests.support.oidc_idp import Client, LocalIdP, id_token_for, local_idp

from .exchanges import bearer, mint, upload

RELEASE = "octo/app/.github/workflows/release.yml@refs/tags/v1.0"


def github_claims(repository: str = "octo/app", **extra: Any) -> dict[str, Any]:
    workflow_ref = f"{repository}/.github/workflows/release.yml@refs/tags/v1.0"
    return {
        "repository": repository,
        "repository_owner": repository.split("/")[0],
        "workflow_ref": workflow_ref,
        "job_workflow_ref": workflow_ref,
        "ref": "refs/tags/v1.0",
        "environment": "release",
        **extra,
    }


CI = "repo:octo/app:environment:release"
#: An issuer whose tokens carry no usable ``jti`` (an empty one: the test IdP always sends
#: the claim, and PyJWT refuses a non-string one); single-use rests on the token itself.
NO_JTI = "repo:octo/app:no-jti"
ATTACKER = "repo:evil/app:environment:release"
#: Claims of the wrong JSON types, as an issuer the attacker runs may sign them.
TYPED = {
    "repo:octo/app:list-repository": {**github_claims(), "repository": ["octo/app"]},
    "repo:octo/app:int-workflow": github_claims(job_workflow_ref=42, workflow_ref=None),
    "repo:octo/app:object-environment": github_claims(environment={"name": "release"}),
    "repo:octo/app:list-ref": github_claims(ref=["refs/tags/v1.0"]),
    "repo:octo/app:lookalike": github_claims(
        "octo/app-evil",
        workflow_ref="octo/app/.github/workflows/release.yml@refs/tags/v1.0",
        job_workflow_ref="octo/app-evil/.github/workflows/release.yml@refs/tags/v1.0",
    ),
    "repo:octo/app:dotdot": github_claims(
        job_workflow_ref="octo/app/.github/workflows/x/../release.yml@refs/tags/v1.0",
        workflow_ref="octo/app/.github/workflows/../workflows/release.yml@refs/tags/v1.0",
    ),
    "repo:octo/app:pull": github_claims(ref="refs/pull/1/merge"),
    "repo:octo/app:pull-request-target": github_claims(event_name="pull_request_target"),
}
ACCOUNTS = {
    CI: github_claims(),
    NO_JTI: github_claims(jti=""),
    ATTACKER: github_claims("evil/app"),
    **TYPED,
}
CLIENTS = [Client("artifortress", "ci-secret", ["http://127.0.0.1:9/cb"])]


@pytest.fixture(scope="module")
def idp() -> Iterator[LocalIdP]:
    with local_idp(CLIENTS, ACCOUNTS) as running:
        yield running


# -- a minted token traded for another (the OCI registry token flow) ---------------------------


def test_a_minted_token_traded_at_the_registry_token_endpoint_stays_a_publisher_token(
    client: falcon.testing.TestClient,
    services: Services,
    publish_to: Callable[..., dict[str, Any]],
    idp: LocalIdP,
) -> None:
    """/v2/_token hands out a scoped token derived from the caller's: from a minted token it
    must keep the publisher and never outlive it (else a leaked minted token lives forever,
    sheds the publisher that attestations are checked against, and can revoke its publisher).
    """
    publish_to("pub")
    minted = mint(client, id_token_for(idp, CI, "artifortress")).json
    push = {"scope": "repository:pub/img:pull,push"}
    traded = client.simulate_get("/v2/_token", params=push, headers=bearer(minted["token"]))
    assert traded.status_code == 200, traded.text
    derived = traded.json["token"]
    principal = services.authenticator.authenticate(derived)
    assert principal.publisher is not None
    assert principal.publisher["repository"] == "octo/app"
    assert principal.credential_expires is not None
    assert principal.credential_expires <= minted["expires"]
    whoami = client.simulate_get("/v1/whoami", headers=bearer(derived))
    assert whoami.json["publisher"] is not None
    # It cannot revoke the publisher's token row either.
    parent = f"/v1/tokens/{principal.token_key_id}"
    assert client.simulate_delete(parent, headers=bearer(derived)).status_code == 403
    # And it dies with the minted token (3 s), not 300 s later.
    assert upload(client, derived, "pub", "early.txt") == 201
    time.sleep(max(0.0, minted["expires"] - time.time()) + 1.1)
    assert upload(client, derived, "pub", "late.txt") == 401
    again = client.simulate_get("/v2/_token", params=push, headers=bearer(derived))
    assert again.status_code == 401
    # The publisher still works: its next minted token uploads.
    fresh = mint(client, id_token_for(idp, CI, "artifortress")).json["token"]
    assert upload(client, fresh, "pub", "next.txt") == 201


# -- replay --------------------------------------------------------------------------------------


def same_token_other_spelling(id_token: str) -> str:
    """*id_token* spelled differently: PyJWT accepts base64url padding on a segment (some
    issuers send it), so the signature with its "=" padding is the same token."""
    signature = id_token.rpartition(".")[2]
    return id_token + "=" * (-len(signature) % 4)


def test_a_token_without_jti_cannot_be_replayed_by_respelling_it(
    client: falcon.testing.TestClient, publish_to: Callable[..., dict[str, Any]], idp: LocalIdP
) -> None:
    publish_to("pub")
    id_token = id_token_for(idp, NO_JTI, "artifortress")
    respelled = same_token_other_spelling(id_token)
    assert respelled != id_token
    assert mint(client, id_token).status_code == 200
    replayed = mint(client, respelled)
    assert replayed.status_code == 422, replayed.text
    assert "already exchanged" in replayed.json["errors"][0]["description"]


# -- what a refusal tells -----------------------------------------------------------------------


def test_a_refused_exchange_names_no_other_repository(
    client: falcon.testing.TestClient,
    publish_to: Callable[..., dict[str, Any]],
    make_repo: Callable[..., dict[str, Any]],
    idp: LocalIdP,
) -> None:
    """Anyone can get an ID token of a public issuer (GitHub's, for any audience): the
    refusal says which claim failed, not which (private) repositories trust that issuer."""
    publish_to("pub")
    publish_to("secret-repo")
    refused = mint(client, id_token_for(idp, ATTACKER, "artifortress"))
    assert refused.status_code == 422
    description = refused.json["errors"][0]["description"]
    assert "'repository'" in description
    assert "secret-repo" not in description
    assert "'pub'" not in description


# -- careless operators ------------------------------------------------------------------------


def test_a_generic_publisher_refuses_fields_it_would_ignore(
    admin: Api, make_repo: Callable[..., dict[str, Any]], idp: LocalIdP
) -> None:
    """``repository``/``workflow`` restrict nothing on an ``oidc`` publisher (its ``claims``
    do): accepting them silently would let an operator believe the publisher is narrower."""
    make_repo("any", "npm")
    body = {"kind": "oidc", "issuer": idp.issuer, "claims": {"sub": CI}}
    for extra in ({"repository": "octo/app"}, {"workflow": "release.yml"}, {"ref": "refs/*"}):
        refused = admin.post("/v1/repos/any/trusted-publishers", body | extra)
        assert refused.status_code == 400, refused.text
        assert next(iter(extra)) in refused.json["error"]["message"]
    assert admin.get("/v1/repos/any/trusted-publishers").json["publishers"] == []
    assert admin.post("/v1/repos/any/trusted-publishers", body).status_code == 201


# -- what a minted token may change --------------------------------------------------------------


def test_a_minted_token_publishes_but_destroys_nothing(
    client: falcon.testing.TestClient,
    admin: Api,
    publish_to: Callable[..., dict[str, Any]],
    idp: LocalIdP,
) -> None:
    """The token is "scoped to upload to that repository only" (issue 19): a compromised
    CI job may add versions, not delete, yank or deprecate the releases already there, nor
    move their labels (npm dist-tags)."""
    publish_to("gen", format="generic")
    released = client.simulate_put(
        "/generic/gen/tool/1.0/tool.tgz", body=b"one", headers=admin.headers()
    )
    assert released.status_code == 201, released.text
    body = {"token": id_token_for(idp, CI, "artifortress"), "repository": "gen"}
    token = client.simulate_post("/v1/oidc/token", json=body).json["token"]
    new = client.simulate_put("/generic/gen/tool/2.0/tool.tgz", body=b"two", headers=bearer(token))
    assert new.status_code == 201, new.text
    version = "/v1/repos/gen/packages/tool/versions/1.0"
    refusals = [
        client.simulate_delete("/generic/gen/tool/1.0/", headers=bearer(token)),
        client.simulate_delete(version, headers=bearer(token)),
        client.simulate_post(version + "/yank", json={}, headers=bearer(token)),
        client.simulate_post(
            version + "/deprecation", json={"message": "x"}, headers=bearer(token)
        ),
        client.simulate_put(
            "/v1/repos/gen/packages/tool/labels/stable",
            json={"version": "2.0"},
            headers=bearer(token),
        ),
    ]
    assert [r.status_code for r in refusals] == [403] * len(refusals), [r.text for r in refusals]
    assert admin.get("/generic/gen/tool/1.0/tool.tgz").content == b"one"


# -- odd tokens of an issuer the attacker runs ----------------------------------------------------


def test_an_id_token_expiring_after_year_9999_is_refused_not_a_500(
    client: falcon.testing.TestClient, publish_to: Callable[..., dict[str, Any]]
) -> None:
    """A repository admin may register any issuer; one of theirs may sign any ``exp``."""
    with local_idp(CLIENTS, ACCOUNTS, id_token_ttl=300_000_000_000) as forever:
        publish_to("pub", issuer=forever.issuer)
        answer = mint(client, id_token_for(forever, CI, "artifortress"))
    assert answer.status_code == 422, answer.text
    assert answer.json["errors"][0]["code"] == "invalid-token"


def test_a_generic_publisher_must_narrow_beyond_what_every_token_shares(
    admin: Api, make_repo: Callable[..., dict[str, Any]], idp: LocalIdP
) -> None:
    """``iss`` and ``aud`` are the same in every token for us: {iss, aud} as the two claims
    required would trust every workload of the issuer (for GitHub's: every repository)."""
    make_repo("any", "npm")
    url = "/v1/repos/any/trusted-publishers"
    for claims in (
        {"iss": idp.issuer, "aud": "artifortress"},
        {"aud": "artifortress", "repository_owner": "octo"},
        {"sub": CI, "jti": "x"},
    ):
        refused = admin.post(url, {"kind": "oidc", "issuer": idp.issuer, "claims": claims})
        assert refused.status_code == 400, (claims, refused.text)
    assert admin.get(url).json["publishers"] == []
    narrow = {"aud": "artifortress", "repository": "octo/app", "environment": "release"}
    assert (
        admin.post(url, {"kind": "oidc", "issuer": idp.issuer, "claims": narrow}).status_code == 201
    )


def test_claims_of_wrong_types_or_lookalike_values_match_nothing(
    client: falcon.testing.TestClient, publish_to: Callable[..., dict[str, Any]], idp: LocalIdP
) -> None:
    publish_to("pub", environment="release", ref="refs/tags/*")
    for account in TYPED:
        refused = mint(client, id_token_for(idp, account, "artifortress"))
        assert refused.status_code == 422, (account, refused.text)
        assert refused.json["errors"][0]["code"] == "invalid-publisher", account


def test_a_pull_request_target_job_is_never_a_publisher(
    client: falcon.testing.TestClient, publish_to: Callable[..., dict[str, Any]], idp: LocalIdP
) -> None:
    """Its job runs the base repository's workflow (release.yml may well trigger on it too)
    on behalf of a pull request, often over the pull request's code."""
    publish_to("pub")
    refused = mint(client, id_token_for(idp, "repo:octo/app:pull-request-target", "artifortress"))
    assert refused.status_code == 422, refused.text
    assert "'event_name'" in refused.json["errors"][0]["description"]
    assert mint(client, id_token_for(idp, CI, "artifortress")).status_code == 200


def test_a_minted_token_reads_and_administers_nothing_else(
    client: falcon.testing.TestClient,
    publish_to: Callable[..., dict[str, Any]],
    make_repo: Callable[..., dict[str, Any]],
    idp: LocalIdP,
) -> None:
    publish_to("pub")
    make_repo("private-py", "pypi")
    make_repo("all", "pypi", kind="virtual", members=["pub"])
    token = mint(client, id_token_for(idp, CI, "artifortress")).json["token"]
    headers = bearer(token)
    assert client.simulate_get("/v1/repos/private-py", headers=headers).status_code in (403, 404)
    assert client.simulate_get("/pypi/private-py/simple/", headers=headers).status_code in (
        403,
        404,
    )
    assert upload(client, token, "all", "through-virtual.txt") in (403, 404)
    publishers = "/v1/repos/pub/trusted-publishers"
    assert client.simulate_get(publishers, headers=headers).status_code == 403
    body = {"kind": "github", "repository": "evil/app", "workflow": "release.yml"}
    assert client.simulate_post(publishers, json=body, headers=headers).status_code == 403
    assert client.simulate_get("/v1/audit", headers=headers).status_code == 403
    assert client.simulate_get("/v1/tokens", headers=headers).status_code == 403


# -- a scoped token pasted into the UI's sign-in form ---------------------------------------------


def test_no_scoped_token_opens_a_ui_session(
    client: falcon.testing.TestClient,
    api_factory: Any,
    services: Services,
    publish_to: Callable[..., dict[str, Any]],
    idp: LocalIdP,
) -> None:
    """A UI session acts as its token's row: opened with a scoped token (afst_) it lived
    12 hours with the parent's full rights, whatever the scoped token's narrower ones. So
    a leaked 15-minute publisher token became a 12-hour session of the publisher without
    its limits, and a person's read-only, one-repository registry token their full power."""
    from tests.functional.ui.browser import Browser

    publish_to("pub")
    minted = mint(client, id_token_for(idp, CI, "artifortress")).json["token"]
    person = api_factory.token_for("ann", admin=True)
    pull = {"scope": "repository:pub/img:pull"}
    read_only = client.simulate_get("/v2/_token", params=pull, headers=bearer(person))
    anonymous = client.simulate_get("/v2/_token", params=pull)
    for token in (minted, read_only.json["token"], anonymous.json["token"]):
        browser = Browser(client)
        browser.get("/ui/sign-in")
        answer = browser.post("/ui/sign-in", {"token": token})
        assert answer.status_code == 401, answer.text
        assert "personal access token" in answer.text
        assert answer.headers["Content-Type"].startswith("text/html"), answer.headers
        assert "af_session" not in browser.cookies
    with services.sessions() as db:
        from artifortress.auth.web_sessions import WebSession

        assert db.query(WebSession).count() == 0


def test_a_scoped_token_creates_no_personal_access_token(
    client: falcon.testing.TestClient, api_factory: Any
) -> None:
    """A registry token asked for the catalog and a push is as wide as its parent but lives
    minutes: it must not turn itself into a 30-day token (nor list or revoke others)."""
    person = api_factory.token_for("ann")
    wide = {"scope": "registry:catalog:* repository:pub/img:pull,push"}
    traded = client.simulate_get("/v2/_token", params=wide, headers=bearer(person))
    scoped = traded.json["token"]
    created = client.simulate_post("/v1/tokens", json={"name": "kept"}, headers=bearer(scoped))
    assert created.status_code == 403, created.text
    assert client.simulate_get("/v1/tokens", headers=bearer(scoped)).status_code == 403


def test_publishers_that_could_never_publish_are_refused_when_registered(
    admin: Api, make_repo: Callable[..., dict[str, Any]], idp: LocalIdP
) -> None:
    make_repo("py", "pypi")
    make_repo("all", "pypi", kind="virtual", members=["py"])
    github = {"kind": "github", "issuer": idp.issuer, "workflow": "release.yml"}
    on_virtual = admin.post("/v1/repos/all/trusted-publishers", github | {"repository": "o/a"})
    assert on_virtual.status_code == 400, on_virtual.text
    assert "virtual" in on_virtual.json["error"]["message"]
    for repository in ("github.com/octo/app", "octo/app/sub"):
        refused = admin.post("/v1/repos/py/trusted-publishers", github | {"repository": repository})
        assert refused.status_code == 400, (repository, refused.text)
    assert admin.get("/v1/repos/py/trusted-publishers").json["publishers"] == []
    assert admin.get("/v1/repos/all/trusted-publishers").json["publishers"] == []


def test_an_exchange_for_a_publisher_whose_token_row_was_revoked_is_refused(
    client: falcon.testing.TestClient,
    admin: Api,
    services: Services,
    publish_to: Callable[..., dict[str, Any]],
    idp: LocalIdP,
) -> None:
    """A tenant admin may revoke any token, the publisher's row too: the exchange then says
    so, instead of handing out a token refused at its first use."""
    publish_to("pub")
    minted = mint(client, id_token_for(idp, CI, "artifortress")).json["token"]
    parent = services.authenticator.authenticate(minted).token_key_id
    assert admin.delete(f"/v1/tokens/{parent}").status_code == 200
    refused = mint(client, id_token_for(idp, CI, "artifortress"))
    assert refused.status_code == 422, refused.text
    assert "revoked" in refused.json["errors"][0]["description"]


# -- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b'{"token": "\\ud800"}',
        b'{"token": "a.\\ud800.b"}',
        b'{"token": "\\u0000"}',
        b'{"token": "' + b"x" * 20000 + b'"}',
        b'{"token": "e30.e30.", "extra": {"deep": [1, 2]}}',
        b"\xff\xfe\x00",
        b"",
    ],
)
def test_pypis_endpoint_answers_bad_bodies_in_its_shape(
    client: falcon.testing.TestClient, publish_to: Callable[..., dict[str, Any]], raw: bytes
) -> None:
    publish_to("pub")
    answer = client.simulate_post(
        "/_/oidc/mint-token", body=raw, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 422, answer.text
    assert answer.json["errors"][0]["code"] in ("invalid-payload", "invalid-token")


def npm_publish_document(name: str, version: str) -> dict[str, Any]:
    """What ``npm publish`` PUTs: the packument with the version and its tarball attached."""
    manifest = json.dumps({"name": name, "version": version}).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("package/package.json")
        info.size = len(manifest)
        archive.addfile(info, io.BytesIO(manifest))
    data = gzip.compress(buffer.getvalue(), mtime=0)
    integrity = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    return {
        "_id": name,
        "name": name,
        "dist-tags": {"latest": version},
        "versions": {version: {"name": name, "version": version, "dist": {"integrity": integrity}}},
        "_attachments": {
            f"{name}-{version}.tgz": {
                "content_type": "application/octet-stream",
                "data": base64.b64encode(data).decode(),
                "length": len(data),
            }
        },
    }


def test_an_npm_minted_token_publishes_but_updates_no_metadata(
    client: falcon.testing.TestClient,
    admin: Api,
    publish_to: Callable[..., dict[str, Any]],
    idp: LocalIdP,
) -> None:
    """npm's metadata updates (deprecate, unpublish, dist-tags) come through the publish
    responder (PUT of the packument, without attachments): a publisher's token may not."""
    publish_to("js", format="npm")
    first = admin.put("/npm/js/pkg", npm_publish_document("pkg", "1.0.0"))
    assert first.status_code == 201, first.text
    body = {"token": id_token_for(idp, CI, "artifortress"), "repository": "js"}
    token = client.simulate_post("/v1/oidc/token", json=body).json["token"]
    second = client.simulate_put(
        "/npm/js/pkg", json=npm_publish_document("pkg", "2.0.0"), headers=bearer(token)
    )
    assert second.status_code == 201, second.text
    packument = admin.get("/npm/js/pkg?write=true").json
    deprecated = json.loads(json.dumps(packument))
    deprecated["versions"]["1.0.0"]["deprecated"] = "do not use"
    retagged = json.loads(json.dumps(packument)) | {"dist-tags": {"latest": "1.0.0"}}
    unpublished = json.loads(json.dumps(packument))
    del unpublished["versions"]["1.0.0"]
    rev = "/npm/js/pkg/-rev/" + str(packument.get("_rev", "1"))
    for path, update in (
        ("/npm/js/pkg", deprecated),
        ("/npm/js/pkg", retagged),
        (rev, unpublished),
    ):
        refused = client.simulate_put(path, json=update, headers=bearer(token))
        assert refused.status_code == 403, (path, refused.text)
    after = admin.get("/npm/js/pkg").json
    assert after["dist-tags"]["latest"] == "2.0.0"
    assert "deprecated" not in after["versions"]["1.0.0"]


def test_one_id_token_exchanged_at_once_by_many_mints_one_token(
    client: falcon.testing.TestClient, publish_to: Callable[..., dict[str, Any]], idp: LocalIdP
) -> None:
    """The same ID token sent by several requests at the same instant (a stolen one raced
    against its job): the database's unique key lets exactly one through."""
    from concurrent.futures import ThreadPoolExecutor

    publish_to("pub")
    id_token = id_token_for(idp, CI, "artifortress")
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda _: mint(client, id_token), range(6)))
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] + [422] * 5, [answer.text for answer in answers]


def test_no_log_record_carries_an_id_token_or_a_minted_token(
    client: falcon.testing.TestClient,
    publish_to: Callable[..., dict[str, Any]],
    idp: LocalIdP,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    publish_to("pub")
    id_token = id_token_for(idp, CI, "artifortress")
    minted = mint(client, id_token).json["token"]
    assert upload(client, minted, "pub", "logged.txt") == 201
    mint(client, id_token)  # replayed
    mint(client, id_token_for(idp, ATTACKER, "artifortress"))  # refused
    text = "\n".join(record.getMessage() + repr(record.__dict__) for record in caplog.records)
    assert "/_/oidc/mint-token" in text, "the requests were logged"
    signature = id_token.rpartition(".")[2]
    assert signature not in text
    assert minted.rpartition(".")[2] not in text
