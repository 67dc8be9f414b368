"""`load.probe` in a process of its own: a probe in the suite's process shares its interpreter
lock with the fixture site's threads, which pace the downloads a figure runs beside it, so
their wake-ups would be counted as the service's latency.

`python -m bench.probe_apart <port> <count> <interval_s> <path>` prints the Latencies as JSON."""

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

from bench.load import Latencies, probe

REPOSITORY = Path(__file__).parent.parent


def probe_apart(port: int, path: str, *, count: int, interval_s: float) -> Latencies:
    """As `load.probe`, from a child process. Raises CalledProcessError if it fails."""
    command = [sys.executable, "-m", "bench.probe_apart", str(port), str(count), str(interval_s)]
    found = subprocess.run(
        [*command, path], check=True, capture_output=True, text=True, cwd=REPOSITORY
    ).stdout
    return Latencies(**json.loads(found))


def main() -> None:
    port, count, interval_s, path = sys.argv[1:]
    found = probe(int(port), path, count=int(count), interval_s=float(interval_s))
    print(json.dumps(dataclasses.asdict(found)))


if __name__ == "__main__":
    main()
