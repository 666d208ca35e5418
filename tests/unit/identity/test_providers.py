"""ARTIFORTRESS_OIDC_PROVIDERS: what is accepted, what is refused (never echoing a secret)."""

from __future__ import annotations

import json

import pytest

from artifortress.errors import ConfigurationError, ValidationFailed
from artifortress.identity.device import normalize_user_code
from artifortress.identity.providers import parse_providers
from artifortress.settings import Settings, current

MINIMAL = {"name": "corp", "issuer": "https://idp.example.com", "client_id": "af"}


def test_defaults_and_options() -> None:
    full = {
        **MINIMAL,
        "name": "lab",
        "client_secret": "s3cret",
        "groups_claim": "groups",
        "group_mapping": {"idp-devs": "developers"},
        "jit": False,
        "label": "Lab SSO",
    }
    corp, lab = parse_providers(json.dumps([MINIMAL, full]))
    assert (corp.scopes, corp.username_claim, corp.jit) == (
        ("openid", "profile", "email"),
        "preferred_username",
        True,
    )
    assert corp.token_rules().audience == "af"
    assert (lab.display_name, lab.group_mapping, lab.jit) == (
        "Lab SSO",
        {"idp-devs": "developers"},
        False,
    )
    assert "s3cret" not in repr(lab)
    assert "s3cret" not in json.dumps(lab.to_json())
    assert parse_providers("") == ()


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"issuer": "http://idp.example.com"}, "https"),
        ({"name": "Bad Name"}, "lowercase"),
        ({"client_id": ""}, "client_id"),
        ({"scopes": ["profile"]}, "openid"),
        ({"jit": "yes"}, "jit"),
        ({"group_mapping": {"a": 1}}, "group_mapping"),
        ({"colour": "blue"}, "unknown field"),
    ],
)
def test_bad_providers_are_refused_saying_why(change: dict[str, object], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        parse_providers(json.dumps([{**MINIMAL, **change}]))


def test_duplicates_and_non_lists_are_refused() -> None:
    with pytest.raises(ValueError, match="same name"):
        parse_providers(json.dumps([MINIMAL, MINIMAL]))
    with pytest.raises(ValueError, match="JSON list"):
        parse_providers(json.dumps(MINIMAL))


def test_the_setting_is_checked_at_start_and_never_shown() -> None:
    secret = {**MINIMAL, "client_secret": "s3cret"}
    settings = Settings.load({"ARTIFORTRESS_OIDC_PROVIDERS": json.dumps([secret])})
    assert dict(current(settings))["ARTIFORTRESS_OIDC_PROVIDERS"] == "***"
    bad = {**secret, "issuer": "ftp://x"}
    with pytest.raises(ConfigurationError) as refused:
        Settings.load({"ARTIFORTRESS_OIDC_PROVIDERS": json.dumps([bad])})
    assert "s3cret" not in str(refused.value)


def test_user_codes_are_read_forgivingly() -> None:
    assert normalize_user_code("bcdf ghjk") == "BCDF-GHJK"
    assert normalize_user_code("BCDF-GHJK") == "BCDF-GHJK"
    for wrong in ("BCDF-GHJ", "ABCD-EFGH", "BCDF-GHJK-L"):
        with pytest.raises(ValidationFailed, match="sign-in code"):
            normalize_user_code(wrong)
