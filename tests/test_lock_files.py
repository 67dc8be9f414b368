"""The lock files in requirements/ still fit pyproject.toml: every dependency it names is
pinned there at a version it allows, and the runtime lock pins what the test lock does. A
dependency added without `make lock` fails here, with that advice, before an install does."""

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PINNED = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)", flags=re.MULTILINE)


def pins(lock: str) -> dict[str, str]:
    """Package name (canonical) -> version, of requirements/<lock>.txt. A package pinned
    twice under exclusive markers keeps its last line; only presence is checked for those."""
    text = (ROOT / "requirements" / f"{lock}.txt").read_text()
    return {canonicalize_name(name): version for name, version in PINNED.findall(text)}


def declared(*extras: str) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = [*project["dependencies"]]
    for extra in extras:
        names += project["optional-dependencies"][extra]
    return [Requirement(name) for name in names]


@pytest.mark.parametrize(("lock", "extras"), [("runtime", ()), ("test", ("test", "dev"))])
def test_lock_pins_every_dependency_at_an_allowed_version(
    lock: str, extras: tuple[str, ...]
) -> None:
    locked = pins(lock)

    for requirement in declared(*extras):
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{name} is not in requirements/{lock}.txt: run `make lock`"
        assert requirement.specifier.contains(locked[name], prereleases=True), (
            f"requirements/{lock}.txt pins {name}=={locked[name]}, outside {requirement}: "
            "run `make lock`"
        )


def test_runtime_lock_agrees_with_the_test_lock() -> None:
    runtime, test = pins("runtime"), pins("test")

    assert {name: test.get(name) for name in runtime} == runtime
