"""Foreman's inventory client against a real HTTP peer that drops connections."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from contractor.foreman.errors import InventoryUnavailable
from contractor.foreman.inventory import InventoryClient


class DroppingServer:
    """A plain asyncio HTTP/1.1 server on 127.0.0.1 that closes the first ``drops`` requests
    without answering (what a keep-alive connection closed by the server looks like to the
    client) and answers the rest with a JSON snapshot."""

    def __init__(self, drops: int) -> None:
        self.drops = drops
        self.requests = 0
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        self.requests += 1
        if self.requests <= self.drops:
            writer.close()
            return
        body = json.dumps({"revision": "7"}).encode()
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
            + f"content-length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        writer.close()


async def test_a_dropped_connection_is_retried_once() -> None:
    peer = DroppingServer(drops=1)
    async with peer as url, httpx.AsyncClient(base_url=url) as http:
        answer = await InventoryClient(http).snapshot("foundation", "vm01")
    assert answer == {"revision": "7"}
    assert peer.requests == 2


async def test_two_dropped_connections_are_inventory_unavailable() -> None:
    peer = DroppingServer(drops=2)
    async with peer as url, httpx.AsyncClient(base_url=url) as http:
        with pytest.raises(InventoryUnavailable, match="inventory unreachable"):
            await InventoryClient(http).snapshot("foundation", "vm01")
    assert peer.requests == 2
