"""What a run found, and how it is written into RESULTS.md."""

import math
import os
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime


@dataclass(frozen=True)
class Figure:
    """One line of the results table: the service beside its reference, and the target."""

    number: int
    name: str
    service: str
    reference: str
    ratio: float | None
    target: str
    met: bool | None
    note: str = ""
    load: float | None = None  # the machine's 1-minute load average when it was taken

    @property
    def verdict(self) -> str:
        if self.met is None:
            return "not measured" if self.ratio is None else "no target"
        return "met" if self.met else "**missed**"


@dataclass
class Report:
    quick: bool
    generator: str
    environment: dict[str, str] = field(default_factory=dict)
    commands: list[str] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    details: dict[int, list[str]] = field(default_factory=dict)
    started: datetime = field(default_factory=lambda: datetime.now(UTC))

    def add(self, figure: Figure, *details: str) -> None:
        """Records `figure` with the load average of now, just after its measurement: on a
        shared machine the absolute figures are only as good as that load."""
        if figure.load is None:
            figure = replace(figure, load=os.getloadavg()[0])
        self.figures.append(figure)
        self.details.setdefault(figure.number, []).extend(details)

    def detail(self, number: int, *lines: str) -> None:
        self.details.setdefault(number, []).extend(lines)

    def command(self, line: str) -> None:
        if line not in self.commands:
            self.commands.append(line)


def ratio_text(ratio: float | None) -> str:
    if ratio is None or math.isnan(ratio):
        return "n/a"
    return f"{ratio:.3f}"


def ms(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{seconds * 1000:.2f} ms"


def mib(count: float) -> str:
    return f"{count / 1024**2:.1f} MiB"


def _load_text(load: float | None) -> str:
    return "n/a" if load is None else f"{load:.1f}"


def _table(report: Report) -> list[str]:
    lines = [
        "| # | Figure | Service | Reference | Ratio | Target | Verdict | Load |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for f in sorted(report.figures, key=lambda f: f.number):
        lines.append(
            f"| {f.number} | {f.name} | {f.service} | {f.reference} | {ratio_text(f.ratio)} "
            f"| {f.target} | {f.verdict} | {_load_text(f.load)} |"
        )
    return lines


def render(report: Report, *, preamble: str = "") -> str:
    mode = "QUICK (small sizes, short runs: a smoke test, not figures)" if report.quick else "full"
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (`python -m bench`); do not edit by hand, run it again.",
        "",
        f"- Run: {report.started:%Y-%m-%d %H:%M UTC}, mode: {mode}",
        f"- Load generator: {report.generator}",
        "",
        *_table(report),
        "",
    ]
    if preamble:
        lines += [preamble.rstrip(), ""]
    for number in sorted(report.details):
        if report.details[number]:
            title = f"Figure {number}" if number else "Run (seconds per part)"
            lines += [f"### {title}", "", *report.details[number], ""]
    lines += ["## Machine and versions", ""]
    lines += [f"- {name}: {value}" for name, value in report.environment.items()]
    lines += ["", "## Commands", "", "```sh", *report.commands, "```", ""]
    return "\n".join(lines)
