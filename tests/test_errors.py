from fastapi import FastAPI

from tests.fixtures.service import ServiceFactory


def _add_a_broken_route(app: FastAPI) -> None:
    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("a bug")


def test_an_unexpected_error_answers_json_500_and_the_service_stays_up(
    make_service: ServiceFactory,
) -> None:
    service = make_service(extend=_add_a_broken_route)

    response = service.client.get("/boom", headers={"Origin": "http://localhost:3000"})

    assert (response.status_code, response.json()) == (500, {"detail": "Internal server error"})
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["access-control-allow-origin"] == "*"
    assert "a bug" not in response.text
    assert service.client.get("/api/health").status_code == 200
