"""``ARTIFORTRESS_GUNICORN_CONF`` and deploy/gunicorn.conf.py: loaded, validated, and in order."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from artifortress.errors import ConfigurationError
from artifortress.server import WORKER_CLASS, GunicornServer, read_gunicorn_conf
from artifortress.settings import Settings

DEPLOY_CONF = Path(__file__).resolve().parents[2] / "deploy" / "gunicorn.conf.py"


@pytest.fixture(autouse=True)
def _no_worker_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    # The production file reads these two from the environment, as a container sets them.
    monkeypatch.delenv("ARTIFORTRESS_WORKERS", raising=False)
    monkeypatch.delenv("ARTIFORTRESS_THREADS", raising=False)
    monkeypatch.delenv("GUNICORN_ACCESS_LOG", raising=False)


def settings(tmp_path: Path, **values: str) -> Settings:
    environ = {"ARTIFORTRESS_HOME": str(tmp_path)}
    environ.update({f"ARTIFORTRESS_{k.upper()}": v for k, v in values.items()})
    return Settings.load(environ=environ)


def test_the_production_file_has_sane_values() -> None:
    conf = read_gunicorn_conf(str(DEPLOY_CONF))
    assert conf["worker_class"] == WORKER_CLASS  # slow clients wait in the loop, not a thread
    assert conf["workers"] >= 2
    assert conf["threads"] >= 4
    assert conf["preload_app"] is False  # pools and boto3 clients are built after the fork
    assert 0 < conf["max_requests_jitter"] < conf["max_requests"]
    assert conf["graceful_timeout"] >= 30
    assert conf["keepalive"] > 60  # outlives the proxies' 60 s upstream idle timeout
    assert conf["secure_scheme_headers"] == {"X-FORWARDED-PROTO": "https"}
    assert "{x-request-id}o" in conf["access_log_format"]
    assert conf["control_socket_disable"] is True
    # Left to ARTIFORTRESS_BIND and ARTIFORTRESS_LOG_LEVEL.
    assert "bind" not in conf
    assert "loglevel" not in conf
    # Imports and helpers are not mistaken for settings.
    assert "os" not in conf
    assert "math" not in conf


def test_the_production_file_defers_to_the_worker_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ARTIFORTRESS_WORKERS", "5")
    monkeypatch.setenv("ARTIFORTRESS_THREADS", "3")
    monkeypatch.setenv("GUNICORN_ACCESS_LOG", "-")
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "10.0.0.0/8")
    conf = read_gunicorn_conf(str(DEPLOY_CONF))
    assert (conf["workers"], conf["threads"], conf["accesslog"]) == (5, 3, "-")
    assert conf["forwarded_allow_ips"] == "10.0.0.0/8"


def test_serve_applies_the_file_over_its_defaults(tmp_path: Path) -> None:
    server = GunicornServer(
        settings(tmp_path, gunicorn_conf=str(DEPLOY_CONF), bind="127.0.0.1:9999", log_level="error")
    )
    cfg = server.cfg
    assert cfg.worker_class_str == WORKER_CLASS
    assert cfg.max_requests == 20_000
    assert cfg.keepalive == 75
    assert cfg.timeout == 60
    assert cfg.bind == ["127.0.0.1:9999"]  # the settings still bind
    assert cfg.loglevel == "error"
    assert cfg.control_socket_disable is True


def test_without_the_file_the_built_in_defaults_apply(tmp_path: Path) -> None:
    cfg = GunicornServer(settings(tmp_path, threads="3")).cfg
    assert (cfg.max_requests, cfg.timeout, cfg.threads) == (0, 120, 3)


def test_precedence_is_settings_then_file_then_extra_options(tmp_path: Path) -> None:
    conf = tmp_path / "g.conf.py"
    conf.write_text("threads = 3\nworkers = 4\nimport os\n")
    server = GunicornServer(
        settings(tmp_path, gunicorn_conf=str(conf), threads="8", workers="2"),
        extra_options={"workers": 1},
    )
    assert (server.cfg.threads, server.cfg.workers) == (3, 1)


def test_a_child_exit_hook_in_the_file_runs_after_ours(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    (metrics / "gauge_livesum_4242.db").write_bytes(b"")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(metrics))
    record = tmp_path / "exited"
    conf = tmp_path / "hook.conf.py"
    conf.write_text(
        f"def child_exit(server, worker):\n    open({str(record)!r}, 'a').write(str(worker.pid))\n"
    )
    cfg = GunicornServer(settings(tmp_path, gunicorn_conf=str(conf))).cfg
    cfg.child_exit(None, SimpleNamespace(pid=4242))
    assert record.read_text() == "4242"
    assert not (metrics / "gauge_livesum_4242.db").exists()  # ours ran: samples merged away


def test_a_broken_file_is_a_configuration_error(tmp_path: Path) -> None:
    conf = tmp_path / "broken.conf.py"
    conf.write_text("workers = int('many')\n")
    with pytest.raises(ConfigurationError, match=r"ARTIFORTRESS_GUNICORN_CONF.*ValueError"):
        GunicornServer(settings(tmp_path, gunicorn_conf=str(conf)))


@pytest.mark.parametrize(
    ("name", "reason"), [("missing.py", "no such file"), ("conf.toml", "ending in .py")]
)
def test_the_setting_names_an_existing_python_file(tmp_path: Path, name: str, reason: str) -> None:
    if name.endswith(".toml"):
        (tmp_path / name).write_text("")
    with pytest.raises(ConfigurationError, match=rf"ARTIFORTRESS_GUNICORN_CONF.*{reason}"):
        settings(tmp_path, gunicorn_conf=str(tmp_path / name))


def test_json_logs_write_each_gunicorn_line_once(tmp_path: Path) -> None:
    """gunicorn's loggers must not propagate to the root handler too (every line twice)."""
    quiet = GunicornServer(settings(tmp_path, log_format="json")).cfg.logconfig_dict
    assert {name: logger["propagate"] for name, logger in quiet["loggers"].items()} == {
        "gunicorn.error": False,
        "gunicorn.access": False,
    }
    # The app logs every request itself: gunicorn's access lines only when asked for.
    assert quiet["loggers"]["gunicorn.access"]["level"] == "CRITICAL"
    asked = GunicornServer(
        settings(tmp_path, log_format="json"), extra_options={"accesslog": "-"}
    ).cfg.logconfig_dict
    assert asked["loggers"]["gunicorn.access"]["level"] == "INFO"
