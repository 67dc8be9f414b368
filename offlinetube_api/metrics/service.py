"""All the metrics of one app: its own registry, what its downloads and requests count, and
the figures read at scrape time."""

from dataclasses import dataclass

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest

from offlinetube_api import __version__
from offlinetube_api.metrics.downloads import DownloadMetrics
from offlinetube_api.metrics.figures import ServiceFigures
from offlinetube_api.metrics.http import HttpMetrics

CONTENT_TYPE = CONTENT_TYPE_LATEST  # Prometheus's text format


def build_info(registry: CollectorRegistry, *, mode: str) -> None:
    """`offlinetube_build_info{version, mode}` 1: `mode` is `embedded`, `distributed` (an API
    replica) or `worker`."""
    info = Gauge(
        "offlinetube_build_info",
        "Always 1; the labels say which version runs, and as what",
        ["version", "mode"],
        registry=registry,
    )
    info.labels(__version__, mode).set(1)


def exposition(registry: CollectorRegistry) -> bytes:
    """The registry's metrics in Prometheus's text format."""
    return generate_latest(registry)


@dataclass(frozen=True, slots=True)
class ServiceMetrics:
    registry: CollectorRegistry
    downloads: DownloadMetrics
    http: HttpMetrics
    figures: ServiceFigures

    @classmethod
    def new(cls, *, mode: str) -> "ServiceMetrics":
        """`mode`: `embedded` or `distributed`, for `offlinetube_build_info`."""
        registry = CollectorRegistry()
        build_info(registry, mode=mode)
        return cls(
            registry=registry,
            downloads=DownloadMetrics(registry),
            http=HttpMetrics(registry),
            figures=ServiceFigures(registry),
        )
