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

from offlinetube_api.models import checked_download_url
from offlinetube_api.security.keys import Scope
from tests.fixtures.keys import create_key
from tests.fixtures.service import ServiceFactory
from tests.fixtures.site import FixtureSite

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Every task's events, without end: an answer that never completes cannot be checked.
UNENDING = {"GET /api/events"}
# Each runs pip (on a folder without wheels, tests/fixtures/service.py): several seconds on a
# loaded machine, past REQUEST_TIMEOUT_S; tests/api/routes/test_ytdlp.py checks their answers.
RUNS_PIP = {"GET /api/admin/ytdlp", "POST /api/admin/ytdlp/update"}
EXAMPLES_PER_OPERATION = 40
# Each valid case of these starts a yt-dlp process (about 0.85 s of CPU to set yt-dlp up), so
# they get fewer cases: 40 of each took the run past its time limit on a loaded 2-core machine.
STARTS_A_PROCESS = {"GET /api/info", "POST /api/subscriptions"}
EXAMPLES_STARTING_A_PROCESS = 5
REQUEST_TIMEOUT_S = 10


def fuzz_settings(operation: schemathesis.APIOperation) -> settings:
    return settings(
        max_examples=EXAMPLES_STARTING_A_PROCESS
        if operation.label in STARTS_A_PROCESS
        else EXAMPLES_PER_OPERATION,
        deadline=None,  # the first POST of a run starts a download process, which takes a while
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


def keep_on_this_machine(case: schemathesis.Case, local_url: str) -> None:
    """A generated `url` the service would fetch, in the body (a download, a subscription) or
    the query (`GET /api/info`), becomes `local_url`: the schema asks for absolute http(s)
    addresses, and fetching a generated one would look its host up in the DNS and connect to
    it, which no test may do."""
    for part in (case.body, case.query):
        if isinstance(part, dict) and isinstance(part.get("url"), str):
            try:
                checked_download_url(part["url"])
            except ValueError:
                continue  # refused with a 422, as the fuzzer meant
            part["url"] = local_url


def fuzz(
    operation: schemathesis.APIOperation,
    mode: GenerationMode,
    base_url: str,
    headers: dict[str, str],
    *,
    local_url: str,
) -> None:
    """Raises the first (shrunk) failing case of `operation`."""

    @fuzz_settings(operation)
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case: schemathesis.Case) -> None:
        keep_on_this_machine(case, local_url)
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


@pytest.mark.timeout(300)
@pytest.mark.parametrize("keys", ["none", "admin key", "key required, none sent"])
def test_every_route_answers_as_documented(
    make_service: ServiceFactory, site: FixtureSite, keys: str
) -> None:
    """Open, as a local tool runs; with an admin key; and locked with no key (all 401s)."""
    service = make_service()
    headers: dict[str, str] = {}
    if keys != "none":
        text = create_key(service.settings, Scope.ADMIN, name="fuzz")
        if keys == "admin key":
            headers = {"Authorization": f"Bearer {text}"}
    local_url = site.url("/plain")  # a page without a video: its download fails at once
    api = schemathesis.openapi.from_url(f"{service.base_url}/openapi.json")
    operations = [result.ok() for result in api.get_all_operations()]
    failures: dict[str, AssertionError | BaseExceptionGroup[Exception]] = {}

    for operation in operations:
        if operation.label in UNENDING | RUNS_PIP and keys != "key required, none sent":
            continue  # locked, it answers 401 or 403 at once, so it is fuzzed there
        for mode in modes(operation):
            try:
                fuzz(operation, mode, service.base_url, headers, local_url=local_url)
            except (AssertionError, BaseExceptionGroup) as failure:
                failures[f"{operation.label} ({mode.value})"] = failure

    assert len(operations) >= 14
    if keys != "key required, none sent":
        listed = service.client.get("/api/downloads", params={"limit": 1000}, headers=headers)
        assert {task["url"] for task in listed.json()} == {local_url}
    assert not failures, "\n\n".join(f"{label}: {error}" for label, error in failures.items())
