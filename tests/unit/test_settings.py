"""Configuration: every SPEC variable parsed, wrong values named, TOML file, precedence."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from artifortress.errors import ConfigurationError
from artifortress.settings import Settings, current, describe

SPEC_VARIABLES = {
    "ARTIFORTRESS_HOME",
    "ARTIFORTRESS_BIND",
    "ARTIFORTRESS_DATABASE_URL",
    "ARTIFORTRESS_BLOB_URL",
    "ARTIFORTRESS_S3_ENDPOINT_URL",
    "ARTIFORTRESS_REDIS_URL",
    "ARTIFORTRESS_PUBLIC_URL",
    "ARTIFORTRESS_WORKERS",
}


def load(**env: str) -> Settings:
    return Settings.load(environ={f"ARTIFORTRESS_{k.upper()}": v for k, v in env.items()})


def test_defaults_follow_the_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings.load(environ={})
    assert settings.home == tmp_path / "var"
    assert settings.bind == "127.0.0.1:8080"
    assert settings.database_url == f"sqlite:///{tmp_path}/var/artifortress.db"
    assert settings.blob_url == f"file://{tmp_path}/var/blobs"
    assert settings.workers == 2
    assert settings.redis_url == settings.s3_endpoint_url == settings.public_url == ""
    assert settings.is_embedded


def test_every_spec_variable_is_a_setting() -> None:
    assert {name for name, _default, _doc in describe()} >= SPEC_VARIABLES


def test_every_spec_variable_is_parsed(tmp_path: Path) -> None:
    settings = load(
        home=str(tmp_path),
        bind="0.0.0.0:9000",
        database_url="postgresql+psycopg://app:s3cret@db.internal:5433/artifacts",
        blob_url="s3://bucket/prefix",
        s3_endpoint_url="http://minio:9000",
        redis_url="redis://cache:6379/0",
        public_url="https://artifacts.example.com",
        workers="7",
    )
    assert settings.home == tmp_path
    assert settings.bind == "0.0.0.0:9000"
    assert settings.database_url == "postgresql+psycopg://app:s3cret@db.internal:5433/artifacts"
    assert not settings.is_embedded
    assert settings.blob_url == "s3://bucket/prefix"
    assert settings.s3_endpoint_url == "http://minio:9000"
    assert settings.redis_url == "redis://cache:6379/0"
    assert settings.public_url == "https://artifacts.example.com"
    assert settings.workers == 7


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("BIND", "localhost"),
        ("BIND", "127.0.0.1:99999"),
        ("BIND", "127.0.0.1:0"),
        ("WORKERS", "0"),
        ("ACCEL_REDIRECT", "_accel/"),
        ("ACCEL_REDIRECT", "/_accel"),
        ("WORKERS", "two"),
        ("WORKERS", "2.5"),
        ("THREADS", "-1"),
        ("DATABASE_URL", "mysql://root@localhost/db"),
        ("DATABASE_URL", "not a url"),
        ("DATABASE_URL", "postgresql+asyncpg://u@h/db"),
        ("DATABASE_URL", "postgresql://u@h:notaport/db"),
        ("DATABASE_URL", "postgresql+psycopg://u@h"),
        ("BLOB_URL", "ftp://files/blobs"),
        ("BLOB_URL", "s3://"),
        ("BLOB_URL", "file://relative/blobs"),
        ("BLOB_URL", "/var/blobs"),
        ("S3_ENDPOINT_URL", "minio:9000"),
        ("S3_ENDPOINT_URL", "http://"),
        ("REDIS_URL", "memcached://cache"),
        ("PUBLIC_URL", "artifacts.example.com"),
        ("LOG_FORMAT", "xml"),
        ("LOG_LEVEL", "verbose"),
        ("TOKEN_MAX_TTL_DAYS", "0"),
        ("TOKEN_CACHE_SECONDS", "soon"),
        ("TOKEN_CACHE_SECONDS", "5"),
        ("TOKEN_CACHE_SECONDS", "nan"),
        ("MAX_JSON_BODY", "a lot"),
        ("TRUST_FORWARDED", "maybe"),
    ],
)
def test_a_wrong_value_names_its_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=f"ARTIFORTRESS_{variable}"):
        load(**{variable.lower(): value})


def test_the_default_ttl_may_not_exceed_the_maximum() -> None:
    with pytest.raises(ConfigurationError, match="ARTIFORTRESS_TOKEN_DEFAULT_TTL_DAYS"):
        load(token_max_ttl_days="30")  # the default of 90 days is now too long
    assert load(token_max_ttl_days="30", token_default_ttl_days="30").token_default_ttl_days == 30


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("postgresql://app@db/artifacts", "postgresql+psycopg://app@db/artifacts"),
        ("postgres://app@db/artifacts", "postgresql+psycopg://app@db/artifacts"),
        ("sqlite:////srv/artifortress.db", "sqlite:////srv/artifortress.db"),
        ("sqlite+pysqlite:////srv/a.db", "sqlite+pysqlite:////srv/a.db"),
    ],
)
def test_database_urls_use_the_installed_driver(raw: str, normalized: str) -> None:
    assert load(database_url=raw).database_url == normalized


@pytest.mark.parametrize(
    ("variable", "value", "parsed"),
    [
        ("bind", "[::1]:8080", "[::1]:8080"),
        ("bind", "unix:/run/artifortress.sock", "unix:/run/artifortress.sock"),
        ("log_format", "JSON", "json"),
        ("log_level", "Warning", "warning"),
        ("max_json_body", "2MiB", 2 * 1024**2),
        ("max_json_body", "4096", 4096),
        ("trust_forwarded", "yes", True),
        ("accel_redirect", "/_accel/", "/_accel/"),
        ("token_cache_seconds", "0.5", 0.5),
        ("blob_url", "file:///srv/blobs", "file:///srv/blobs"),
        ("redis_url", "unix:///run/redis.sock", "unix:///run/redis.sock"),
    ],
)
def test_accepted_spellings(variable: str, value: str, parsed: object) -> None:
    assert getattr(load(**{variable: value}), variable) == parsed


def test_an_empty_variable_means_the_default() -> None:
    assert load(workers="").workers == 2


def test_toml_file_sets_the_same_keys(tmp_path: Path) -> None:
    config = tmp_path / "artifortress.toml"
    config.write_text(
        'bind = "0.0.0.0:8181"\n'
        "workers = 3\n"
        'ARTIFORTRESS_LOG_FORMAT = "json"\n'
        "trust_forwarded = true\n"
        'database_url = "postgresql://app@db/artifacts"\n'
    )
    settings = Settings.load(environ={}, config_file=config)
    assert settings.bind == "0.0.0.0:8181"
    assert settings.workers == 3
    assert settings.log_format == "json"
    assert settings.trust_forwarded is True
    assert settings.database_url == "postgresql+psycopg://app@db/artifacts"


def test_the_environment_wins_over_the_file(tmp_path: Path) -> None:
    config = tmp_path / "artifortress.toml"
    config.write_text('workers = 3\nbind = "0.0.0.0:8181"\n')
    environ = {"ARTIFORTRESS_WORKERS": "5", "ARTIFORTRESS_CONFIG": str(config)}
    settings = Settings.load(environ=environ)
    assert settings.workers == 5
    assert settings.bind == "0.0.0.0:8181"


def test_an_unknown_toml_key_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "artifortress.toml"
    config.write_text("wokers = 3\n")
    with pytest.raises(ConfigurationError, match="unknown key 'wokers'"):
        Settings.load(environ={}, config_file=config)


def test_a_wrong_value_in_the_file_names_variable_and_file(tmp_path: Path) -> None:
    config = tmp_path / "artifortress.toml"
    config.write_text('workers = "many"\n')
    with pytest.raises(ConfigurationError, match=r"ARTIFORTRESS_WORKERS.*artifortress\.toml"):
        Settings.load(environ={}, config_file=config)


def test_a_toml_table_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "artifortress.toml"
    config.write_text("[database_url]\nhost = 'db'\n")
    with pytest.raises(ConfigurationError, match="database_url"):
        Settings.load(environ={}, config_file=config)


@pytest.mark.parametrize("content", [None, "workers = \n"])
def test_an_unreadable_file_is_refused(tmp_path: Path, content: str | None) -> None:
    config = tmp_path / "artifortress.toml"
    if content is not None:
        config.write_text(content)
    with pytest.raises(ConfigurationError, match="cannot read configuration file"):
        Settings.load(environ={}, config_file=config)


def test_a_misspelt_variable_is_reported(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="artifortress.settings"):
        settings = Settings.load(
            environ={"ARTIFORTRESS_WORKER": "8", "ARTIFORTRESS_TEST_POSTGRES_URL": "x"}
        )
    assert settings.workers == 2
    assert "ARTIFORTRESS_WORKER" in caplog.text
    assert "did you mean ARTIFORTRESS_WORKERS" in caplog.text
    assert "TEST_POSTGRES_URL" not in caplog.text


#: Words of Python's own errors, which tell an operator nothing about the setting.
_PYTHON_ERRORS = ("invalid literal", "could not convert", "base 10", "object has no attribute")


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("WORKERS", "two", "ARTIFORTRESS_WORKERS: expected a positive whole number, got 'two'"),
        ("WORKERS", "0", "ARTIFORTRESS_WORKERS: expected a positive whole number, got '0'"),
        ("THREADS", "2.5", "ARTIFORTRESS_THREADS: expected a positive whole number, got '2.5'"),
        ("TOKEN_CACHE_SECONDS", "soon", "ARTIFORTRESS_TOKEN_CACHE_SECONDS: expected a duration"),
        ("DRAFT_TTL", "tomorrow", "ARTIFORTRESS_DRAFT_TTL: expected a duration such as 30s"),
        ("MAX_JSON_BODY", "a lot", "ARTIFORTRESS_MAX_JSON_BODY: expected a byte count"),
        ("TRUST_FORWARDED", "maybe", "ARTIFORTRESS_TRUST_FORWARDED: expected true or false"),
    ],
)
def test_a_wrong_value_says_what_is_expected(variable: str, value: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        load(**{variable.lower(): value})
    assert str(refused.value).startswith(message)
    assert str(refused.value).endswith(f"got {value!r}")


@pytest.mark.parametrize("value", ["two", "-1", "§", "1e3", "nan"])
def test_no_setting_answers_a_wrong_value_with_pythons_own_error(value: str) -> None:
    for variable, _default, _doc in describe():
        try:
            Settings.load(environ={variable: value})
        except ConfigurationError as refused:
            message = str(refused)
            assert message.startswith(variable), message
            assert not any(words in message for words in _PYTHON_ERRORS), message


def test_a_refused_url_does_not_repeat_its_password() -> None:
    with pytest.raises(ConfigurationError) as refused:
        load(database_url="mysql://app:s3cret-pw@db/artifacts")
    assert "s3cret-pw" not in str(refused.value)
    assert "mysql://app:***@db/artifacts" in str(refused.value)


def test_defaults_are_described_as_they_are_typed() -> None:
    defaults = {variable: default for variable, default, _doc in describe()}
    assert defaults["ARTIFORTRESS_DRAFT_TTL"] == "24h"
    assert defaults["ARTIFORTRESS_TOMBSTONE_RETENTION"] == "7d"
    assert defaults["ARTIFORTRESS_CLIENT_BODY_TIMEOUT"] == "60s"
    assert defaults["ARTIFORTRESS_S3_PRESIGN_TTL"] == "5m"
    assert defaults["ARTIFORTRESS_MAX_JSON_BODY"] == "1MiB"
    assert defaults["ARTIFORTRESS_UPLOAD_MIN_PART_SIZE"] == "5MiB"
    assert defaults["ARTIFORTRESS_TRUST_FORWARDED"] == "false"
    assert defaults["ARTIFORTRESS_HOME"] == "./var"
    assert defaults["ARTIFORTRESS_REDIS_URL"] == ""


def test_every_described_default_reads_back_as_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What ``artifortress settings`` shows, typed back in, configures the same thing."""
    monkeypatch.chdir(tmp_path)
    computed = {
        "ARTIFORTRESS_DATABASE_URL",
        "ARTIFORTRESS_BLOB_URL",
        "ARTIFORTRESS_RENDERINGS_DIR",
        "ARTIFORTRESS_SECRET_KEY",
        "ARTIFORTRESS_SIGSTORE_TRUSTED_ROOT",
    }
    typed = {
        variable: default
        for variable, default, _doc in describe()
        if default and variable not in computed | {"ARTIFORTRESS_S3_REGION"}
    }
    assert Settings.load(environ=typed) == Settings.load(environ={})


def test_current_values_are_shown_as_they_are_typed(tmp_path: Path) -> None:
    settings = load(
        home=str(tmp_path),
        draft_ttl="90m",
        max_package_upload="512MiB",
        trust_forwarded="yes",
        redis_url="redis://:pw@cache:6379/0",
    )
    shown = dict(current(settings))
    assert shown["ARTIFORTRESS_DRAFT_TTL"] == "90m"
    assert shown["ARTIFORTRESS_GC_GRACE"] == "24h"
    assert shown["ARTIFORTRESS_MAX_PACKAGE_UPLOAD"] == "512MiB"
    assert shown["ARTIFORTRESS_TRUST_FORWARDED"] == "true"
    assert shown["ARTIFORTRESS_WORKER_POLL_INTERVAL"] == "1s"
    assert shown["ARTIFORTRESS_REDIS_URL"] == "redis://:***@cache:6379/0"
    assert shown["ARTIFORTRESS_HOME"] == str(tmp_path)


def test_the_secret_key_is_never_shown(tmp_path: Path) -> None:
    settings = load(home=str(tmp_path), secret_key="a-long-random-secret")
    assert settings.secret_key == "a-long-random-secret"
    assert dict(current(settings))["ARTIFORTRESS_SECRET_KEY"] == "***"
    assert dict(current(load(home=str(tmp_path))))["ARTIFORTRESS_SECRET_KEY"] == ""
