"""Real servers for the till tests: the central API and till agents under uvicorn, a link that can
be cut, and a network receipt printer that answers ESC/POS status."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import uvicorn

from tills.till import TillAgent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_until(
    check: Callable[[], Awaitable[bool] | bool], timeout: float = 30, what: str = "condition"
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


class Served:
    """An ASGI app under a real uvicorn server on 127.0.0.1, in this event loop; can stop and start
    again."""

    def __init__(self, make_app: Callable[[], Any], port: int | None = None) -> None:
        self.make_app = make_app
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        config = uvicorn.Config(
            self.make_app(),
            host="127.0.0.1",
            port=self.port,
            log_config=None,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        await wait_until(
            lambda: self._server is not None and self._server.started, 30, f"server on {self.port}"
        )

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
        self._server = self._task = None


class TcpLink:
    """A TCP forwarder between a till and the central API: `cut()` is the store's link going
    down."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def up(self) -> None:
        self._server = await asyncio.start_server(self._pipe, "127.0.0.1", self.port)

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for w in list(self._writers):
            w.close()
        self._writers.clear()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}

        async def copy(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(copy(reader, up_writer), copy(up_reader, writer))
        self._writers -= {writer, up_writer}


class AgentUnderTest:
    """A running till agent and an HTTP client on its page API."""

    def __init__(self, agent: TillAgent, server: Served) -> None:
        self.agent = agent
        self.server = server
        self.url = server.url
        self.http = httpx.AsyncClient(base_url=server.url, timeout=60)
        self.session: dict[str, str] = {}

    async def login(self, staff_code: str, pin: str) -> dict[str, Any]:
        r = await self.http.post("/api/login", json={"staff_code": staff_code, "pin": pin})
        assert r.status_code == 200, r.text
        self.session = {"X-Till-Session": r.json()["session"]}
        return r.json()

    async def status(self) -> dict[str, Any]:
        return (await self.http.get("/api/status")).json()

    async def post(self, path: str, body: Any) -> httpx.Response:
        return await self.http.post(path, json=body, headers=self.session)


class FakeEscposPrinter:
    """A network receipt printer on a real socket: answers DLE EOT status, keeps what it is sent."""

    def __init__(self) -> None:
        self.port = free_port()
        self.paper = True
        self.received = bytearray()  # everything but the status queries
        self.queries = 0
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}?status=on&timeout=2"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def _status(self, n: int) -> bytes:
        if n == 1:
            return bytes([0x12 | (0x00 if self.paper else 0x08)])  # bit 3: offline
        if n == 2:
            return bytes([0x12 | (0x00 if self.paper else 0x20)])  # bit 5: stopped at paper end
        return bytes([0x12 | (0x00 if self.paper else 0x60)])  # n=4 bits 5-6: roll paper end

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        job = bytearray()
        buffer = b""
        try:
            while data := await reader.read(4096):
                buffer += data
                while buffer.startswith(b"\x10\x04") and len(buffer) >= 3 and not job:
                    self.queries += 1
                    writer.write(self._status(buffer[2]))
                    await writer.drain()
                    buffer = buffer[3:]
                if buffer and not buffer.startswith(b"\x10"):
                    job += buffer
                    buffer = b""
        except OSError:
            pass
        finally:
            self.received += job + buffer
            writer.close()


async def login(api: httpx.AsyncClient, till: str, staff_code: str, pin: str) -> dict[str, str]:
    """Sign in at a till of the central API; the Authorization header to use."""
    r = await api.post(f"/tills/{till}/login", json={"staff_code": staff_code, "pin": pin})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}
