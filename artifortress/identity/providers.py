"""OpenID Connect providers people sign in with (``ARTIFORTRESS_OIDC_PROVIDERS``).

The setting is a JSON list of objects::

    [{"name": "corp", "issuer": "https://idp.example.com", "client_id": "artifortress",
      "client_secret": "...", "label": "Corp SSO", "scopes": ["openid", "profile", "email"],
      "username_claim": "preferred_username", "groups_claim": "groups",
      "group_mapping": {"idp-devs": "developers"}, "jit": true}]

Only ``name``, ``issuer`` and ``client_id`` are required.  The client secret is never shown:
``repr`` hides it and the provider's JSON for the API leaves it out.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from artifortress.identity.id_tokens import TokenRules
from artifortress.identity.issuers import check_issuer_url

PROVIDER_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
_KNOWN_FIELDS = frozenset(
    {
        "name",
        "issuer",
        "client_id",
        "client_secret",
        "label",
        "scopes",
        "username_claim",
        "groups_claim",
        "group_mapping",
        "jit",
    }
)


@dataclass(frozen=True)
class OidcProvider:
    name: str  # in URLs: /ui/sign-in/oidc/{name}
    issuer: str
    client_id: str
    client_secret: str = field(default="", repr=False)
    label: str = ""
    scopes: tuple[str, ...] = ("openid", "profile", "email")
    username_claim: str = "preferred_username"
    groups_claim: str | None = None
    #: IdP group -> Artifortress group; only mapped groups are synchronised.
    group_mapping: Mapping[str, str] = field(default_factory=dict)
    #: Create a user on first sign-in (just-in-time provisioning).
    jit: bool = True

    @property
    def display_name(self) -> str:
        return self.label or self.name

    def token_rules(self) -> TokenRules:
        return TokenRules(issuer=self.issuer, audience=self.client_id)

    def to_json(self) -> dict[str, Any]:
        """For the admin API: everything but the client secret."""
        return {
            "name": self.name,
            "label": self.display_name,
            "issuer": self.issuer,
            "client_id": self.client_id,
            "client_secret_set": bool(self.client_secret),
            "scopes": list(self.scopes),
            "username_claim": self.username_claim,
            "groups_claim": self.groups_claim,
            "group_mapping": dict(self.group_mapping),
            "jit": self.jit,
        }


def parse_providers(raw: str) -> tuple[OidcProvider, ...]:
    """The providers of the setting's JSON; ValueError naming what is wrong (never a secret)."""
    if not raw.strip():
        return ()
    try:
        items = json.loads(raw)
    except ValueError:
        raise ValueError("expected a JSON list of provider objects") from None
    if not isinstance(items, list):
        raise ValueError("expected a JSON list of provider objects")
    providers = tuple(_provider(item, index) for index, item in enumerate(items))
    names = [p.name for p in providers]
    if len(set(names)) != len(names):
        raise ValueError("two providers have the same name")
    return providers


def _provider(item: object, index: int) -> OidcProvider:
    where = f"provider {index + 1}"
    if not isinstance(item, dict):
        raise ValueError(f"{where} is not an object")
    unknown = sorted(set(item) - _KNOWN_FIELDS)
    if unknown:
        raise ValueError(f"{where} has unknown field(s) {', '.join(unknown)}")
    name = _text(item, "name", where)
    if not PROVIDER_NAME.fullmatch(name):
        raise ValueError(f"{where}: name must be 1-32 lowercase letters, digits or '-'")
    where = f"provider {name!r}"
    try:
        issuer = check_issuer_url(_text(item, "issuer", where))
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    scopes = tuple(_strings(item.get("scopes", ["openid", "profile", "email"]), "scopes", where))
    if "openid" not in scopes:
        raise ValueError(f"{where}: scopes must include openid")
    mapping = item.get("group_mapping", {})
    if not isinstance(mapping, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()
    ):
        raise ValueError(f"{where}: group_mapping must map IdP group names to group names")
    jit = item.get("jit", True)
    if not isinstance(jit, bool):
        raise ValueError(f"{where}: jit must be true or false")
    groups_claim = item.get("groups_claim")
    if groups_claim is not None and not isinstance(groups_claim, str):
        raise ValueError(f"{where}: groups_claim must be a claim name")
    return OidcProvider(
        name=name,
        issuer=issuer,
        client_id=_text(item, "client_id", where),
        client_secret=str(item.get("client_secret", "")),
        label=str(item.get("label", "")),
        scopes=scopes,
        username_claim=str(item.get("username_claim", "preferred_username")),
        groups_claim=groups_claim,
        group_mapping=dict(mapping),
        jit=jit,
    )


def _text(item: Mapping[str, Any], key: str, where: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where} needs {key} (a non-empty string)")
    return value.strip()


def _strings(value: object, key: str, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"{where}: {key} must be a list of strings")
    return value


@functools.lru_cache(maxsize=4)
def configured(raw: str) -> tuple[OidcProvider, ...]:
    """The providers of the setting's (already checked) value, parsed once per process."""
    return parse_providers(raw)


def find_provider(raw: str, name: str) -> OidcProvider | None:
    """The configured provider called *name* (``raw``: the setting's value)."""
    return next((p for p in configured(raw) if p.name == name), None)
