"""ops/grafana/offlinetube.json queries only metrics a real /metrics answer has, with the labels
they carry, so an import into Grafana shows figures rather than empty panels."""

import json
import re
import uuid
from pathlib import Path
from typing import Any

from tests.fixtures.prometheus import Scrape
from tests.fixtures.service import RunningService
from tests.fixtures.site import FixtureSite

DASHBOARD = Path(__file__).parents[2] / "ops" / "grafana" / "offlinetube.json"
METRIC = re.compile(r"\b(offlinetube_[a-z0-9_]+)")
GROUPING = re.compile(r"\bby \(([^)]*)\)\s*\(\s*(?:rate|increase)?\(?\s*(offlinetube_[a-z0-9_]+)")


def _expressions() -> list[str]:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def _labels_of(metrics: Scrape, name: str) -> set[str]:
    return {label for sample, labels in metrics.samples if sample == name for label, _ in labels}


def test_every_metric_the_dashboard_queries_is_in_a_real_scrape(
    service: RunningService, site: FixtureSite
) -> None:
    # A completed and a failed download, so the labelled series exist too.
    service.download_and_wait(site.page_url(video=site.url("/media/clip.mp4")))
    service.download_and_wait(site.url(f"/missing-{uuid.uuid4().hex}.mp4"))
    response = service.client.get("/metrics")
    assert response.status_code == 200
    metrics = Scrape(response.text)

    queried = {name for expr in _expressions() for name in METRIC.findall(expr)}

    assert queried, "the dashboard queries nothing"
    assert queried <= metrics.names, queried - metrics.names
    for expr in _expressions():
        for grouped, name in GROUPING.findall(expr):
            wanted = {label.strip() for label in grouped.split(",")}
            assert wanted <= _labels_of(metrics, name), (expr, wanted - _labels_of(metrics, name))


def test_every_panel_reads_the_chosen_prometheus() -> None:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text())

    variables = {variable["name"] for variable in dashboard["templating"]["list"]}
    assert "datasource" in variables
    for panel in dashboard["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert panel["targets"], panel["title"]
