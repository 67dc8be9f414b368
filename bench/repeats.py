"""Figures taken as the median of several repetitions, the service and its reference taking
turns within each, so that both meet the same stretches of a shared machine's load; each figure
reports its median with the lowest and highest repetition (issue 16, item 1)."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from statistics import median
from typing import Generic, Self, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Spread:
    """Repeated measurements of one quantity: their median, lowest and highest."""

    median: float
    low: float
    high: float
    count: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Self:
        """Raises ValueError for no values."""
        if not values:
            raise ValueError("a spread of no measurements")
        return cls(median(values), min(values), max(values), len(values))

    @property
    def moved(self) -> float:
        """How far the repetitions moved: (highest - lowest) / median, 0 for one."""
        return (self.high - self.low) / self.median if self.median else 0.0

    def text(self, show: Callable[[float], str]) -> str:
        """`show(median)`, then the range over the repetitions when there were several."""
        if self.count == 1:
            return show(self.median)
        return f"{show(self.median)} ({show(self.low)} to {show(self.high)})"


@dataclass(frozen=True)
class Paired(Generic[T]):
    """`repeats` measurements of the service and of its reference, taken in turns."""

    service: list[T]
    reference: list[T]

    def spread(self, value: Callable[[T], float]) -> tuple[Spread, Spread, Spread]:
        """The spreads of `value` for the service, for the reference, and of their ratio
        (service / reference, repetition by repetition)."""
        ours = [value(result) for result in self.service]
        theirs = [value(result) for result in self.reference]
        ratios = [a / b for a, b in zip(ours, theirs, strict=True)]
        return Spread.of(ours), Spread.of(theirs), Spread.of(ratios)


def take_turns(service: Callable[[], T], reference: Callable[[], T], *, repeats: int) -> Paired[T]:
    """Runs `service` then `reference`, `repeats` times; their results in order."""
    ours, theirs = [], []
    for _ in range(repeats):
        ours.append(service())
        theirs.append(reference())
    return Paired(ours, theirs)
