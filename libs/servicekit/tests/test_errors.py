from __future__ import annotations

import httpx
from contractor.servicekit.errors import Conflict, FieldError, install_problem_handlers
from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str


class Clash(Conflict):
    type_slug = "widget-clash"
    title = "Widgets clash"


def make_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/things")
    async def things(body: Body) -> dict[str, str]:
        return {"name": body.name}

    @app.get("/clash")
    async def clash() -> None:
        raise Clash("widget 3 clashes", widget=3)

    @app.get("/field")
    async def field() -> None:
        raise FieldError(["query", "x"], "x is bad", type_slug="invalid-x")

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret database password is hunter2")

    return app


def client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://kit")


async def test_service_error_is_problem_with_extensions() -> None:
    async with client(make_app()) as c:
        r = await c.get("/clash")
    assert r.status_code == 409
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json() == {
        "type": "urn:contractor:problem:widget-clash",
        "title": "Widgets clash",
        "status": 409,
        "detail": "widget 3 clashes",
        "instance": "/clash",
        "widget": 3,
    }


async def test_validation_error_names_fields() -> None:
    async with client(make_app()) as c:
        r = await c.post("/things", json={"name": "a", "colour": "red"})
        assert r.status_code == 422
        assert r.json()["type"] == "urn:contractor:problem:validation-error"
        assert r.json()["errors"] == [
            {
                "loc": ["body", "colour"],
                "msg": "Extra inputs are not permitted",
                "type": "extra_forbidden",
            }
        ]
        r = await c.get("/field")
        assert r.json()["type"] == "urn:contractor:problem:invalid-x"
        assert r.json()["errors"][0]["loc"] == ["query", "x"]


async def test_unexpected_error_is_bare_500() -> None:
    async with client(make_app()) as c:
        r = await c.get("/boom")
    assert r.status_code == 500
    assert "hunter2" not in r.text and "RuntimeError" not in r.text
    assert r.json()["type"] == "urn:contractor:problem:internal-error"


async def test_framework_404_is_problem() -> None:
    async with client(make_app()) as c:
        r = await c.get("/missing")
    assert r.status_code == 404 and r.json()["type"] == "urn:contractor:problem:not-found"
