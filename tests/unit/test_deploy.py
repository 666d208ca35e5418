"""deploy/: the compose file, the Dockerfile and the proxy agree with each other and the code.

Docker is not available where the tests run, so the files are parsed and
checked for what a broken deployment would get wrong: missing services,
start order, health checks, commands, and settings the code does not know.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from artifortress import cli
from artifortress.server import read_gunicorn_conf
from artifortress.settings import PREFIX, Settings, describe

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
ROOT = DEPLOY.parent
PLUGINS = ("pypi", "npm", "generic", "oci")
APP_SERVICES = ("migrate", "api", "worker", "cli")
CONF_IN_IMAGE = "/etc/artifortress/gunicorn.conf.py"
#: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}
_INTERPOLATION = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    assert isinstance(document, dict)
    return document


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


@pytest.fixture(scope="module")
def dockerfile() -> str:
    return (DEPLOY / "Dockerfile").read_text()


def interpolate(value: str) -> str:
    """Compose's variable syntax with nothing in the environment: defaults, else a stand-in."""

    def replace(match: re.Match[str]) -> str:
        kind, default = match.group(2), match.group(3)
        return default if kind in (":-", "-") else "secret0"

    return _INTERPOLATION.sub(replace, value)


def depends(service: dict[str, Any]) -> dict[str, str]:
    return {name: spec["condition"] for name, spec in service.get("depends_on", {}).items()}


def environment(service: dict[str, Any]) -> dict[str, str]:
    return {key: interpolate(str(value)) for key, value in service.get("environment", {}).items()}


def test_the_services(services: dict[str, dict[str, Any]]) -> None:
    assert set(services) == {
        "postgres",
        "minio",
        "createbucket",
        "redis",
        "migrate",
        "api",
        "worker",
        "cli",
        "proxy",
    }
    images = {name: interpolate(service["image"]) for name, service in services.items()}
    assert images["postgres"].startswith("postgres:")
    assert images["minio"].startswith("minio/minio:RELEASE.")
    assert images["createbucket"].startswith("minio/mc:RELEASE.")
    assert images["redis"].startswith("redis:7")
    assert images["proxy"].startswith("caddy:2")
    for name, image in images.items():  # pinned: an upgrade is a reviewed change
        assert ":" in image, name
        assert not image.endswith(":latest"), name


def test_one_image_built_from_the_dockerfile_runs_every_role(
    services: dict[str, dict[str, Any]],
) -> None:
    builds = {name: services[name]["build"] for name in APP_SERVICES}
    assert all(
        build == {"context": "..", "dockerfile": "deploy/Dockerfile"} for build in builds.values()
    )
    assert len({services[name]["image"] for name in APP_SERVICES}) == 1
    commands = {name: services[name]["command"] for name in APP_SERVICES}
    assert commands == {
        "migrate": ["artifortress", "db", "upgrade"],
        "api": ["artifortress", "serve"],
        "worker": ["artifortress", "worker"],
        "cli": ["artifortress", "--help"],
    }
    # The one-off command runner is never started by `docker compose up`.
    assert services["cli"]["profiles"] == ["tools"]
    assert all("profiles" not in s for name, s in services.items() if name != "cli")


def test_start_order(services: dict[str, dict[str, Any]]) -> None:
    assert depends(services["migrate"]) == {"postgres": "service_healthy"}
    assert depends(services["createbucket"]) == {"minio": "service_healthy"}
    for name in ("api", "worker"):
        wanted = depends(services[name])
        assert wanted["migrate"] == "service_completed_successfully", name
        assert wanted["createbucket"] == "service_completed_successfully", name
        assert "postgres" not in wanted  # only through migrate, which waited for it
    # Redis holds caches only: the API must start without it being healthy.
    assert depends(services["api"])["redis"] == "service_started"
    assert depends(services["proxy"]) == {"api": "service_healthy"}


def test_the_dependency_graph_is_complete_and_acyclic(services: dict[str, dict[str, Any]]) -> None:
    graph = {name: set(depends(service)) for name, service in services.items()}
    assert all(target in services for targets in graph.values() for target in targets)
    order: list[str] = []
    while graph:
        ready = sorted(name for name, targets in graph.items() if targets <= set(order))
        assert ready, f"a dependency cycle among {sorted(graph)}"
        order += ready
        for name in ready:
            del graph[name]


def test_health_checks_back_every_healthy_condition(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for target, condition in depends(service).items():
            if condition == "service_healthy":
                check = services[target].get("healthcheck", {})
                assert check.get("test"), f"{name} -> {target}"
                assert not check.get("disable"), f"{name} -> {target}"
    for job in ("migrate", "createbucket", "cli"):
        assert services[job]["restart"] == "no", job
    # No HTTP port in these: the image's /healthz check would call them unhealthy.
    for name in ("migrate", "worker", "cli"):
        assert services[name]["healthcheck"] == {"disable": True}, name
    api_check = " ".join(services["api"]["healthcheck"]["test"])
    assert "http://127.0.0.1:8080/readyz" in api_check


def test_every_artifortress_variable_is_a_setting(compose: dict[str, Any]) -> None:
    known = {variable for variable, _default, _doc in describe()}
    text = (DEPLOY / "docker-compose.yml").read_text()
    used = set(re.findall(r"\b(ARTIFORTRESS_[A-Z0-9_]+)\b", text))
    assert used, "the compose file configures nothing?"
    assert used <= known, f"not settings: {sorted(used - known)}"


def test_every_service_environment_loads_as_settings(
    services: dict[str, dict[str, Any]], dockerfile: str
) -> None:
    """The values parse too: a typo in a URL or a duration would stop the containers."""
    assert f"COPY deploy/gunicorn.conf.py {CONF_IN_IMAGE}" in dockerfile
    for name in APP_SERVICES:
        env = environment(services[name])
        if env.get(PREFIX + "GUNICORN_CONF") == CONF_IN_IMAGE:
            env[PREFIX + "GUNICORN_CONF"] = str(DEPLOY / "gunicorn.conf.py")
        settings = Settings.load(environ={k: v for k, v in env.items() if k.startswith(PREFIX)})
        assert settings.database_url.startswith("postgresql+psycopg://artifortress:"), name
        assert settings.blob_url.startswith("s3://"), name
        assert settings.redis_url == "redis://redis:6379/0", name
        assert env["AWS_SECRET_ACCESS_KEY"], name  # boto3's credentials for the bucket


def test_the_api_behind_the_proxy(services: dict[str, dict[str, Any]]) -> None:
    env = environment(services["api"])
    assert env[PREFIX + "BIND"] == "0.0.0.0:8080"
    assert env[PREFIX + "TRUST_FORWARDED"] == "true"
    assert env[PREFIX + "GUNICORN_CONF"] == CONF_IN_IMAGE
    assert "ports" not in services["api"]  # replicas share nothing but the proxy's port
    assert services["api"]["expose"] == ["8080"]
    caddyfile = (DEPLOY / "Caddyfile").read_text()
    assert re.search(r"dynamic a \{\s*name api\s*port 8080", caddyfile)
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in services["proxy"]["volumes"]
    # docker stop waits longer than gunicorn lets in-flight requests finish.
    graceful = read_gunicorn_conf(str(DEPLOY / "gunicorn.conf.py"))["graceful_timeout"]
    assert int(services["api"]["stop_grace_period"].rstrip("s")) > graceful
    assert int(interpolate(str(services["api"]["deploy"]["replicas"]))) >= 2


def test_the_bucket_job_makes_the_bucket_the_api_uses(services: dict[str, dict[str, Any]]) -> None:
    bucket = environment(services["createbucket"])["S3_BUCKET"]
    blob_url = environment(services["api"])[PREFIX + "BLOB_URL"]
    assert blob_url.startswith(f"s3://{bucket}/")
    script = "\n".join(services["createbucket"]["command"])
    assert 'mc mb --ignore-existing "local/$$S3_BUCKET"' in script
    user = environment(services["api"])["AWS_ACCESS_KEY_ID"]
    assert f"mc admin user add local {user} " in script
    assert (DEPLOY / "minio-bucket-policy.json").exists()


def test_the_dockerfile_installs_the_core_and_the_three_plugins(dockerfile: str) -> None:
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)", dockerfile, re.MULTILINE)
    assert base is not None
    assert base.group(1).startswith("python:3.11-slim")
    for plugin in PLUGINS:
        assert f"COPY plugins/{plugin} ./plugins/{plugin}" in dockerfile
        assert f"./plugins/{plugin}" in dockerfile.split("pip wheel", 1)[1].splitlines()[0]
        name = f"artifortress-{plugin}"
        assert f'name = "{name}"' in (ROOT / "plugins" / plugin / "pyproject.toml").read_text()
        assert name in dockerfile.split("pip install", 1)[1].split("\n\n", 1)[0]
    # Every built-in plugin of the Makefile is in the image.
    makefile_plugins = re.search(r"^PLUGINS := (.+)$", (ROOT / "Makefile").read_text(), re.M)
    assert makefile_plugins is not None
    assert set(makefile_plugins.group(1).split()) == {f"plugins/{p}" for p in PLUGINS}


def test_the_image_runs_serve_as_a_non_root_user_with_a_health_check(dockerfile: str) -> None:
    users = re.findall(r"^USER (\S+)", dockerfile, re.MULTILINE)
    assert users
    assert users[-1].split(":")[0] not in ("root", "0")
    assert dockerfile.rstrip().splitlines()[-1] == 'CMD ["artifortress", "serve"]'
    check = re.search(r"^HEALTHCHECK .*\n(?:.*\\\n)*.*$", dockerfile, re.MULTILINE)
    assert check is not None
    assert "/healthz" in check.group(0)


def test_the_build_context_keeps_what_the_dockerfile_copies(dockerfile: str) -> None:
    allowed = [
        line[1:].rstrip("/")
        for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
        if line.startswith("!")
    ]
    sources = re.findall(r"^COPY (?!--from)(\S+(?: \S+)*) \S+$", dockerfile, re.MULTILINE)
    assert sources
    for group in sources:
        for source in group.split():
            assert any(source == a or source.startswith(a + "/") for a in allowed), source
            assert (ROOT / source).exists(), source


def test_env_example_sets_every_required_variable() -> None:
    text = (DEPLOY / "docker-compose.yml").read_text()
    required = {m.group(1) for m in _INTERPOLATION.finditer(text) if m.group(2) in (":?", "?")}
    example = (DEPLOY / "env.example").read_text()
    defined = set(re.findall(r"^([A-Z0-9_]+)=", example, re.MULTILINE))
    assert required
    assert required <= defined, sorted(required - defined)


def test_the_runbook_names_only_real_settings_and_commands() -> None:
    runbook = (DEPLOY / "RUNBOOK.md").read_text()
    known = {variable for variable, _default, _doc in describe()}
    named = set(re.findall(r"\b(ARTIFORTRESS_[A-Z0-9_]+)\b", runbook))
    assert named - known == set()
    commands = set(re.findall(r"`artifortress ([a-z]+)", runbook))
    (subparsers,) = [
        a for a in cli.build_parser()._actions if isinstance(a, argparse._SubParsersAction)
    ]
    assert commands, "no commands named?"
    assert commands <= set(subparsers.choices), commands - set(subparsers.choices)


def test_the_image_and_make_vendor_the_same_swagger_ui(dockerfile: str) -> None:
    """/v1/docs is the same page from ``make serve`` and from the image."""
    from artifortress.web.docs import ASSETS

    makefile = (ROOT / "Makefile").read_text()
    (made,) = re.findall(r"^SWAGGER_UI_VERSION := (\S+)$", makefile, re.MULTILINE)
    (built,) = re.findall(r"^ARG SWAGGER_UI_VERSION=(\S+)$", dockerfile, re.MULTILINE)
    assert made == built
    for name in ASSETS:  # both copy every file the page serves
        assert name in makefile
        assert name in dockerfile
