"""`make bench` runs end to end in its quick mode and writes every figure. Speed is judged by
the suite itself (bench/RESULTS.md), not here; this only proves the suite works. It never
installs anything: without wrk it uses its Python load generator and says so."""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
QUICK_DEADLINE_S = 300  # both modes; about half that on an idle machine


@pytest.mark.bench
@pytest.mark.timeout(QUICK_DEADLINE_S + 30)
def test_make_bench_quick_writes_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "RESULTS.md"
    env = {**os.environ, "BENCH_QUICK": "1", "BENCH_OUT": str(out), "BENCH_NO_INSTALL": "1"}
    started = time.monotonic()

    done = subprocess.run(
        # -o: the suite runs inside the installed venv already; never reinstall from a test.
        ["make", "--no-print-directory", "-o", ".venv/.installed-test", "bench"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=QUICK_DEADLINE_S,
    )

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert time.monotonic() - started < QUICK_DEADLINE_S
    assert re.search(r"load generator: (wrk|Python asyncio client \(FALLBACK)", done.stdout)
    results = out.read_text()
    assert "mode: QUICK" in results
    figures = {int(n) for n in re.findall(r"^\| (\d+) \|", results, flags=re.MULTILINE)}
    have_nginx = "nginx: not installed" not in results
    measured_anywhere = {3, 4, 5, 6, 7, 8, 9, 10}
    assert figures == (measured_anywhere | {1, 2} if have_nginx else measured_anywhere)
    assert "## Machine and versions" in results and "## Commands" in results


def test_the_smoke_run_is_left_out_of_the_suite_and_run_after_it() -> None:
    """`make test` runs pytest with the default options, which deselect it; `.ci/run` runs it
    alone, after the suite."""
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:xdist", __file__],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert "1 deselected" in collected.stdout, collected.stdout
    steps = (ROOT / ".ci" / "run").read_text().split("\n")
    assert steps.index("make bench-smoke") > steps.index("make test")
