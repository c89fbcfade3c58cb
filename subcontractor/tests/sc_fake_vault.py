"""A fake HashiCorp Vault (KV version 2 reads) on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from sc_http import json_response, read_message


class FakeVault:
    def __init__(self, token: str = "vault-t0ken") -> None:
        self.token = token
        self.secrets: dict[str, dict[str, Any]] = {}
        self.reads: list[str] = []
        self._server: asyncio.Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while (request := await read_message(reader)) is not None:
                method, path, _ = request.start.split(" ", 2)
                self.reads.append(path)
                if request.header("x-vault-token") != self.token:
                    answer = json_response(403, {"errors": ["permission denied"]})
                elif method != "GET" or path.removeprefix("/v1/") not in self.secrets:
                    answer = json_response(404, {"errors": []})
                else:
                    data = self.secrets[path.removeprefix("/v1/")]
                    answer = json_response(
                        200, {"data": {"data": data, "metadata": {"version": 1}}}
                    )
                writer.write(answer.encode())
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
