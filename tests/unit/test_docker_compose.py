"""Static checks of docker/compose.yaml and docker/Dockerfile.tests (no Docker needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

yaml = pytest.importorskip("yaml")

from assimilator_stack.testing.pytest_plugin import REDIS_URL_ENV  # noqa: E402

DOCKER_DIR = Path(__file__).resolve().parents[2] / "docker"
COMPOSE_FILE = DOCKER_DIR / "compose.yaml"


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict)
    result = data["services"]
    assert isinstance(result, dict)
    return result


def _healthcheck_command(service: dict[str, Any]) -> str:
    test = service["healthcheck"]["test"]
    return test if isinstance(test, str) else " ".join(test)


def test_plugin_reads_redis_url() -> None:
    assert REDIS_URL_ENV == "REDIS_URL"


def test_redis_stack_service(services: dict[str, Any]) -> None:
    service = services["redis-stack"]
    assert service["image"] == "redis/redis-stack-server:7.4.0-v1"
    assert "redis-cli ping" in _healthcheck_command(service)
    assert "profiles" not in service  # the default server


def test_redis8_service(services: dict[str, Any]) -> None:
    service = services["redis8"]
    assert service["image"] == "redis:8"
    assert service["profiles"] == ["redis8"]
    assert "redis-cli ping" in _healthcheck_command(service)


@pytest.mark.parametrize(
    ("test_service", "server_service"),
    [("tests", "redis-stack"), ("tests-redis8", "redis8")],
)
def test_test_services_point_at_their_server(
    services: dict[str, Any], test_service: str, server_service: str
) -> None:
    service = services[test_service]
    assert service.get("profiles"), f"{test_service} must only run on demand"
    env = service["environment"]
    if isinstance(env, list):  # "KEY=value" form
        env = dict(item.split("=", 1) for item in env)
    assert REDIS_URL_ENV in env, f"{test_service} must set {REDIS_URL_ENV}"
    url = urlparse(env[REDIS_URL_ENV])
    assert url.scheme == "redis"
    assert url.hostname == server_service
    assert url.port == 6379
    assert service["depends_on"][server_service]["condition"] == "service_healthy"
    build = service["build"]
    assert (COMPOSE_FILE.parent / build["context"] / build["dockerfile"]).resolve() == (
        DOCKER_DIR / "Dockerfile.tests"
    )


def test_dockerfile_runs_the_suite() -> None:
    text = (DOCKER_DIR / "Dockerfile.tests").read_text()
    from_lines = [line for line in text.splitlines() if line.startswith("FROM")]
    assert from_lines == ["FROM python:3.11-slim"]
    assert 'pip install -e ".[test]"' in text
    assert '"pytest"' in text


CLUSTER_NODES = ["redis-cluster-1", "redis-cluster-2", "redis-cluster-3"]


def _shell(service: dict[str, Any]) -> str:
    """The ``sh -c`` script of a service, as the container gets it ($$ is compose's $)."""
    command = service["command"]
    assert command[:2] == ["sh", "-c"]
    return str(command[2]).replace("$$", "$")


def test_cluster_profile_nodes(services: dict[str, Any]) -> None:
    for name in CLUSTER_NODES:
        node = services[name]
        assert node["image"] == "redis:8"
        assert node["profiles"] == ["cluster"]
        assert node["hostname"] == name
        script = _shell(node)
        assert "--cluster-enabled yes" in script and "--port 6379" in script
        assert "redis-cli ping" in _healthcheck_command(node)


def test_cluster_profile_joins_every_node_then_runs_the_cluster_tests(
        services: dict[str, Any]) -> None:
    import shutil
    import subprocess

    init = services["redis-cluster-init"]
    assert init["profiles"] == ["cluster"]
    assert init["depends_on"] == {n: {"condition": "service_healthy"} for n in CLUSTER_NODES}
    script = _shell(init)
    assert "redis-cli --cluster create" in script and "--cluster-replicas 0" in script
    assert all(name in script for name in CLUSTER_NODES)
    assert "cluster_state:ok" in script
    sh = shutil.which("sh")
    if sh is not None:  # the scripts parse as POSIX shell
        for service in (init, services["redis-cluster-1"]):
            subprocess.run([sh, "-n", "-c", _shell(service)], check=True)
    tests = services["tests-cluster"]
    assert tests["profiles"] == ["cluster"]
    assert tests["depends_on"] == {
        "redis-cluster-init": {"condition": "service_completed_successfully"}}
    url = urlparse(tests["environment"]["REDIS_CLUSTER_URL"])
    assert (url.scheme, url.hostname, url.port) == ("redis", "redis-cluster-1", 6379)
    command = tests["command"]
    paths = [arg for arg in command if arg.startswith("tests/")]
    assert paths and all((DOCKER_DIR.parent / p).exists() for p in paths)
    # the cluster runs alone (the others would need a single server the container lacks)
    pytest_args = command[command.index("pytest") + 1:]
    assert pytest_args[pytest_args.index("-m") + 1] == "cluster"
    assert {"tests/redis", "tests/differential"} <= set(paths)  # the query suite's tiers
