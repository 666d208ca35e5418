"""Token lifetime and cache settings are validated at start-up."""

from __future__ import annotations

import pytest

from artifortress.errors import ConfigurationError
from artifortress.settings import Settings


def _load(**env: str) -> Settings:
    return Settings.load(environ={f"ARTIFORTRESS_{k.upper()}": v for k, v in env.items()})


def test_defaults_bound_token_lifetime_and_cache():
    settings = _load()
    assert settings.token_default_ttl_days == 90
    assert settings.token_max_ttl_days == 365
    assert 0 < settings.token_cache_seconds <= 1


@pytest.mark.parametrize("seconds", ["1.01", "2", "60", "-0.5", "nan", "inf"])
def test_cache_longer_than_a_second_is_a_configuration_error(seconds):
    """Revocation must reach every process within one second, cache or not."""
    with pytest.raises(ConfigurationError, match="ARTIFORTRESS_TOKEN_CACHE_SECONDS"):
        _load(token_cache_seconds=seconds)


@pytest.mark.parametrize("seconds", ["0", "0.5", "1", "1.0"])
def test_cache_up_to_a_second_is_accepted(seconds):
    assert _load(token_cache_seconds=seconds).token_cache_seconds == float(seconds)


def test_default_ttl_above_the_maximum_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="TOKEN_DEFAULT_TTL_DAYS"):
        _load(token_default_ttl_days="400", token_max_ttl_days="365")


@pytest.mark.parametrize("name", ["token_max_ttl_days", "token_default_ttl_days"])
@pytest.mark.parametrize("value", ["0", "-1", "ninety"])
def test_ttl_settings_must_be_positive_integers(name, value):
    with pytest.raises(ConfigurationError, match=f"ARTIFORTRESS_{name.upper()}"):
        _load(**{name: value})
