from __future__ import annotations

import httpx
from contractor.servicekit.errors import install_problem_handlers
from contractor.servicekit.limits import BodyRule, RequestLimits
from fastapi import FastAPI


def make_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(
        RequestLimits,
        default=BodyRule(max_bytes=100),
        overrides={"/import": BodyRule(300, frozenset({"application/toml"}))},
    )

    @app.post("/echo")
    async def echo(body: dict[str, str]) -> dict[str, str]:
        return body

    @app.post("/import")
    async def take() -> dict[str, str]:
        return {"ok": "yes"}

    return app


async def test_limits() -> None:
    transport = httpx.ASGITransport(app=make_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://kit") as c:
        assert (await c.post("/echo", json={"a": "b"})).json() == {"a": "b"}
        r = await c.post("/echo", json={"a": "x" * 200})
        assert (
            r.status_code == 413 and r.json()["type"] == "urn:contractor:problem:payload-too-large"
        )
        r = await c.post("/echo", content=b"a=b", headers={"content-type": "text/plain"})
        assert r.status_code == 415 and r.headers["content-type"] == "application/problem+json"
        r = await c.post(
            "/import", content=b"x" * 250, headers={"content-type": "application/toml"}
        )
        assert r.status_code == 200
        r = await c.post("/import", content=b"{}", headers={"content-type": "application/json"})
        assert r.status_code == 415
