"""An unknown token id costs what a real id with a wrong secret costs.

Timing would otherwise tell an attacker which ids exist. Timings are noise on
a shared machine, so this counts the work instead: how often the secret is
hashed, and the statements run and ORM rows loaded, on a cache miss and then
on a cache hit (``bench/token_timing.py`` measures the times themselves).
"""

from __future__ import annotations

import dataclasses

import pytest

from artifortress.auth import tokens
from artifortress.container import Services
from artifortress.errors import Unauthenticated
from artifortress.testing.dbwork import WorkMeter


@pytest.fixture(params=[1.0, 0.0], ids=["cached", "uncached"])
def authenticator_services(request, settings):
    built = Services.build(dataclasses.replace(settings, token_cache_seconds=request.param))
    yield built
    built.close()


@pytest.fixture
def hash_calls(monkeypatch) -> list[str]:
    """Every secret the token module hashes (the real function still runs)."""
    calls: list[str] = []
    real = tokens.hash_secret

    def counted(secret: str) -> str:
        calls.append(secret)
        return real(secret)

    monkeypatch.setattr(tokens, "hash_secret", counted)
    return calls


def _refusal_work(
    services: Services, token: str, hash_calls: list[str]
) -> list[tuple[int, int, int]]:
    """(hashes, statements, rows) of two refused authentications: a cache miss, then a hit."""
    meter = WorkMeter(services.engine)
    counts = []
    for _attempt in range(2):
        hash_calls.clear()
        with meter.measure() as work, pytest.raises(Unauthenticated):
            services.authenticator.authenticate(token)
        counts.append((len(hash_calls), work.statements, work.rows))
    return counts


def test_unknown_id_does_the_work_of_a_wrong_secret(
    api_factory, authenticator_services, hash_calls: list[str]
) -> None:
    real = api_factory.token_for("alice")
    key_id, secret = tokens.parse_token(real) or ("", "")
    wrong_secret = f"{tokens.PREFIX}{key_id}_{'a' * tokens.SECRET_LENGTH}"
    unknown_id = f"{tokens.PREFIX}{'a' * tokens.KEY_ID_LENGTH}_{secret}"
    wrong = _refusal_work(authenticator_services, wrong_secret, hash_calls)
    unknown = _refusal_work(authenticator_services, unknown_id, hash_calls)
    assert wrong == unknown
    assert [hashes for hashes, _statements, _rows in unknown] == [1, 1]
