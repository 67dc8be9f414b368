"""schemathesis against the running service's own /openapi.json, over real HTTP: no answer is
a 500, and every answer is one the schema documents, in status, content type, headers and
body. Valid inputs on every operation; invalid ones too where the schema constrains a query or
a body. Bounded and derandomized, so it is quick and gives the same cases on every run."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from offlinetube_api.security.keys import Scope
from tests.fixtures.keys import create_key
from tests.fixtures.service import ServiceFactory

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Every task's events, without end: an answer that never completes cannot be checked.
UNENDING = {"GET /api/events"}
EXAMPLES_PER_OPERATION = 40
REQUEST_TIMEOUT_S = 10
FUZZ = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,  # the first POST of a run starts a download process, which takes a while
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def fuzz(
    operation: schemathesis.APIOperation,
    mode: GenerationMode,
    base_url: str,
    headers: dict[str, str],
) -> None:
    """Raises the first (shrunk) failing case of `operation`."""

    @FUZZ
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(
            base_url=base_url, checks=CHECKS, headers=headers, timeout=REQUEST_TIMEOUT_S
        )

    check()


def modes(operation: schemathesis.APIOperation) -> list[GenerationMode]:
    # A free-form string in the path has no invalid value to generate. Query strings and
    # headers (the media and event routes' `exp`, `sig` and `Last-Event-ID`) have.
    constrained = any(
        len(part) > 0 for part in (operation.query, operation.headers, operation.body)
    )
    return list(GenerationMode) if constrained else [GenerationMode.POSITIVE]


@pytest.mark.timeout(90)
@pytest.mark.parametrize("keys", ["none", "admin key", "key required, none sent"])
def test_every_route_answers_as_documented(make_service: ServiceFactory, keys: str) -> None:
    """Open, as a local tool runs; with an admin key; and locked with no key (all 401s)."""
    service = make_service()
    headers: dict[str, str] = {}
    if keys != "none":
        text = create_key(service.settings, Scope.ADMIN, name="fuzz")
        if keys == "admin key":
            headers = {"Authorization": f"Bearer {text}"}
    api = schemathesis.openapi.from_url(f"{service.base_url}/openapi.json")
    operations = [result.ok() for result in api.get_all_operations()]
    failures: dict[str, AssertionError | BaseExceptionGroup[Exception]] = {}

    for operation in operations:
        if operation.label in UNENDING and keys != "key required, none sent":
            continue  # locked, it answers 401 or 403 at once, so it is fuzzed there
        for mode in modes(operation):
            try:
                fuzz(operation, mode, service.base_url, headers)
            except (AssertionError, BaseExceptionGroup) as failure:
                failures[f"{operation.label} ({mode.value})"] = failure

    assert len(operations) >= 14
    assert not failures, "\n\n".join(f"{label}: {error}" for label, error in failures.items())
