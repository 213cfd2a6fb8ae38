"""docker-compose.yml and the Dockerfile, checked by reading them (no Docker engine needed)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
COMPOSE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = compose["services"]
    return found


def env_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # the KEY=VALUE list form
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def image_is_pinned(image: str) -> bool:
    if "@sha256:" in image:
        return True
    name = image.rsplit("/", 1)[-1]
    if ":" not in name:
        return False
    tag = name.split(":", 1)[1]
    return bool(tag) and tag != "latest" and not tag.endswith("-latest")


def test_the_three_services_exist(services: dict[str, Any]) -> None:
    assert {"neo4j", "minio", "peso"} <= set(services)


def test_every_image_is_pinned(services: dict[str, Any]) -> None:
    for name, service in services.items():
        if "image" in service:
            assert image_is_pinned(service["image"]), f"{name}: image {service['image']!r}"
        else:
            assert "build" in service, f"{name} has neither an image nor a build"
    assert services["neo4j"]["image"].startswith("neo4j:")
    assert "community" in services["neo4j"]["image"]
    assert re.search(r":RELEASE\.\d{4}-\d{2}-\d{2}T", services["minio"]["image"])


@pytest.mark.parametrize("image", ["neo4j", "neo4j:latest", "minio/minio:latest", "x:"])
def test_unpinned_images_are_caught(image: str) -> None:
    assert not image_is_pinned(image)


def test_every_service_has_a_healthcheck(services: dict[str, Any]) -> None:
    for name, service in services.items():
        check = service.get("healthcheck")
        assert check, f"{name} has no healthcheck"
        assert check.get("test"), f"{name} has an empty healthcheck"
        assert not check.get("disable"), name


def test_peso_waits_for_healthy_backends(services: dict[str, Any]) -> None:
    peso = services["peso"]
    assert "build" in peso
    depends = peso["depends_on"]
    for backend in ("neo4j", "minio"):
        assert depends[backend]["condition"] == "service_healthy"


def test_peso_is_wired_to_neo4j_and_minio(services: dict[str, Any]) -> None:
    env = env_of(services["peso"])
    assert env["PESO_GRAPH_URL"] == "neo4j://neo4j:7687"
    assert env["PESO_OBJECTS_URL"].startswith("s3://")
    assert re.fullmatch(r"https?://minio:9000/?", env["PESO_S3_ENDPOINT"])
    assert env["PESO_HOST"] == "0.0.0.0"
    for key in ("PESO_NEO4J_USER", "PESO_NEO4J_PASSWORD", "PESO_S3_ACCESS_KEY",
                "PESO_S3_SECRET_KEY"):
        assert env.get(key), key
    assert "/readyz" in " ".join(services["peso"]["healthcheck"]["test"])


def test_peso_env_is_valid_settings(services: dict[str, Any]) -> None:
    from server.settings import SETTINGS, Settings, parse_objects_url

    env = env_of(services["peso"])
    known = {s.env for s in SETTINGS}
    assert set(env) <= known, f"unknown settings in compose: {set(env) - known}"
    # ${VAR:-default} would be substituted by compose; the defaults are what a laptop gets
    resolved = {k: re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", v) for k, v in env.items()}
    settings = Settings.from_env(resolved)
    assert parse_objects_url(settings.objects_url)[1] == "peso"


def test_credentials_come_from_the_environment(services: dict[str, Any]) -> None:
    neo4j, minio, peso = (env_of(services[n]) for n in ("neo4j", "minio", "peso"))
    assert neo4j["NEO4J_AUTH"].startswith("neo4j/${")
    assert minio["MINIO_ROOT_USER"].startswith("${")
    assert minio["MINIO_ROOT_PASSWORD"].startswith("${")
    # Peso uses the same variables as the services it talks to
    assert neo4j["NEO4J_AUTH"].removeprefix("neo4j/") == peso["PESO_NEO4J_PASSWORD"]
    assert minio["MINIO_ROOT_USER"] == peso["PESO_S3_ACCESS_KEY"]
    assert minio["MINIO_ROOT_PASSWORD"] == peso["PESO_S3_SECRET_KEY"]


def test_neo4j_memory_fits_a_laptop(services: dict[str, Any]) -> None:
    env = env_of(services["neo4j"])

    def mb(value: str) -> int:
        found = re.fullmatch(r"(\d+)([mMgG])", value)
        assert found, value
        return int(found[1]) * (1024 if found[2].lower() == "g" else 1)

    assert mb(env["NEO4J_server_memory_heap_max__size"]) <= 1024
    assert mb(env["NEO4J_server_memory_pagecache_size"]) <= 1024


def test_ports_are_published_on_loopback(services: dict[str, Any]) -> None:
    for name in ("neo4j", "minio", "peso"):
        ports = services[name].get("ports")
        assert ports, f"{name} publishes no port"
        for port in ports:
            assert str(port).startswith("127.0.0.1:"), f"{name}: {port} is not loopback-only"
    assert "127.0.0.1:8000:8000" in services["peso"]["ports"]


def test_named_volumes_are_declared(compose: dict[str, Any], services: dict[str, Any]) -> None:
    declared = set(compose.get("volumes") or {})
    used = set()
    for service in services.values():
        for volume in service.get("volumes") or []:
            source = volume.split(":", 1)[0] if isinstance(volume, str) else volume["source"]
            if not source.startswith((".", "/", "~")):
                used.add(source)
    assert used, "no named volumes"
    assert used <= declared, f"volumes used but not declared: {used - declared}"
    for backend in ("neo4j", "minio"):
        assert services[backend].get("volumes"), f"{backend} keeps its data in no volume"


def dockerfile_lines() -> list[str]:
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    return [line.strip() for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def test_dockerfile_base_image_is_pinned() -> None:
    froms = [line.split()[1] for line in dockerfile_lines() if line.upper().startswith("FROM ")]
    assert froms, "no FROM"
    for image in froms:
        assert image_is_pinned(image), image
        assert re.match(r"python:3\.11\.\d+-slim", image), image


def test_dockerfile_runs_as_a_user_with_a_healthcheck() -> None:
    lines = dockerfile_lines()
    users = [line.split()[1] for line in lines if line.upper().startswith("USER ")]
    assert users, "the Dockerfile sets no USER"
    assert users[-1] not in ("root", "0", "0:0"), users
    assert any(line.upper().startswith("HEALTHCHECK ") and "/readyz" in line for line in lines)
    assert any(line.upper().startswith("EXPOSE ") and "8000" in line for line in lines)
    cmd = [line for line in lines if line.upper().startswith("CMD ")]
    assert cmd, "the Dockerfile has no CMD"
    assert "peso" in cmd[-1]
    assert "serve" in cmd[-1]
    assert any("pip install ." in line for line in lines)


def test_dockerignore_keeps_the_context_small() -> None:
    ignored = (REPO / ".dockerignore").read_text(encoding="utf-8").split()
    for entry in (".git", "node_modules", "peso-data", "tests"):
        assert entry in ignored, entry
