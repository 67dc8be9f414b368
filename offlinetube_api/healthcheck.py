"""The container's health check (the Dockerfile's HEALTHCHECK): asks the running service's health
route where the same settings as the service's say it listens (OFFLINETUBE_PORT,
OFFLINETUBE_HOST; a wildcard address is asked on loopback) with a `Host` header that
OFFLINETUBE_ALLOWED_HOSTS admits. The standard library's HTTP client: slim images have no curl.

`python -m offlinetube_api.healthcheck` exits 0 when the route answers 200, else 1 with one line
on stderr saying why (Docker keeps it in `docker inspect`'s health log)."""

import sys
import urllib.error
import urllib.request

from pydantic import ValidationError

from offlinetube_api.config import Settings

# Liveness only: the process answers. Not /readyz: a full disk or a PostgreSQL restart is not
# mended by restarting the container, and /api/health reads the store on every probe.
HEALTH_PATH = "/healthz"
TIMEOUT_S = 4.0  # under the Dockerfile's --timeout
# Where a service bound to every address answers for sure.
_LOOPBACK_FOR = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


def health_request(settings: Settings) -> urllib.request.Request:
    """GET of the health route at the service's address and port."""
    address = _LOOPBACK_FOR.get(settings.host, settings.host)
    netloc = f"[{address}]:{settings.port}" if ":" in address else f"{address}:{settings.port}"
    request = urllib.request.Request(f"http://{netloc}{HEALTH_PATH}")
    allowed = settings.allowed_hosts or []  # none given: the address's own name is admitted
    if allowed and "*" not in allowed:
        request.add_header("Host", f"{allowed[0]}:{settings.port}")
    return request


def check() -> str | None:
    """None when the service answers healthy, else why not."""
    try:
        request = health_request(Settings())
    except ValidationError as error:
        return f"the settings are not valid: {error.error_count()} error(s)"
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            status: int = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    except OSError as error:  # refused, timed out, unreachable
        return f"{request.full_url}: {error}"
    return None if status == 200 else f"{request.full_url}: HTTP {status}"


def main() -> None:
    problem = check()
    if problem is not None:
        print(f"unhealthy: {problem}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
