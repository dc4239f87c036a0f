"""A till machine's client certificate (deploy/issue-till-cert.sh) opens the Temporal frontend
behind a TLS proxy that requires one (as Caddy does, deploy/caddy/Caddyfile); without it, or with
a certificate of another CA, the connection is refused. The proxy here is a small TLS terminator
on 127.0.0.1 in front of the session's Temporal dev server, checking client certificates against
the tills' CA like Caddy's `client_auth require_and_verify`."""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client
from temporalio.service import TLSConfig

from tillflow.settings import Settings
from tillflow.temporal_tls import temporal_tls

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "issue-till-cert.sh"


def _issue(ca_dir: Path, till: str) -> Path:
    subprocess.run(
        ["sh", str(SCRIPT), till],
        env={"PATH": os.environ["PATH"], "TILLS_CA_DIR": str(ca_dir)},
        check=True,
        capture_output=True,
        timeout=60,
    )
    return ca_dir / "tills" / till


def _server_cert(where: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1 (Caddy's would be Let's Encrypt)."""
    ca_key, ca, key, csr, crt = (where / n for n in ("ca.key", "ca.crt", "s.key", "s.csr", "s.crt"))
    run = lambda *a: subprocess.run(a, check=True, capture_output=True, timeout=60)  # noqa: E731
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-keyout", str(ca_key), "-out", str(ca), "-days", "2", "-subj", "/CN=test ca",
        "-addext", "basicConstraints=critical,CA:TRUE")  # fmt: skip
    run("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", "/CN=grpc.shop.test")  # fmt: skip
    ext = where / "s.ext"
    ext.write_text("subjectAltName=DNS:grpc.shop.test,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    run("openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
        "-CAcreateserial", "-out", str(crt), "-days", "2", "-extfile", str(ext))  # fmt: skip
    return ca, crt, key


@contextlib.asynccontextmanager
async def _mtls_proxy(
    upstream: str, server_crt: Path, server_key: Path, tills_ca: Path
) -> AsyncIterator[int]:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(server_crt, server_key)
    ctx.load_verify_locations(tills_ca)
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.set_alpn_protocols(["h2"])
    host, port = upstream.rsplit(":", 1)
    tasks: set[asyncio.Task[None]] = set()

    async def pipe(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        try:
            while data := await r.read(65536):
                w.write(data)
                await w.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            w.close()

    async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        ur, uw = await asyncio.open_connection(host, int(port))
        for t in (asyncio.create_task(pipe(r, uw)), asyncio.create_task(pipe(ur, w))):
            tasks.add(t)
            t.add_done_callback(tasks.discard)

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ctx)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        for t in list(tasks):
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()


async def _connect(port: int, tls: TLSConfig | None) -> Client:
    return await asyncio.wait_for(
        Client.connect(f"127.0.0.1:{port}", namespace="default", tls=tls or False), timeout=30
    )


async def test_a_tills_certificate_opens_the_temporal_frontend_and_nothing_else_does(
    temporal_client: Client, tmp_path: Path
) -> None:
    tills = tmp_path / "tills-ca"
    ber1 = _issue(tills, "BER1")
    assert (tills / "ca.key").stat().st_mode & 0o077 == 0  # the CA key is the owner's only
    assert (ber1 / "till.key").stat().st_mode & 0o077 == 0
    other = _issue(tmp_path / "another-ca", "BER1")
    server_ca, server_crt, server_key = _server_cert(tmp_path)
    upstream = temporal_client.service_client.config.target_host

    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]  # _env_file is pydantic-settings' own init argument
        temporal_tls_cert=ber1 / "till.crt",
        temporal_tls_key=ber1 / "till.key",
        temporal_tls_ca=server_ca,
        temporal_tls_server_name="grpc.shop.test",
    )
    tls = temporal_tls(settings)
    assert tls is not None and tls.domain == "grpc.shop.test"

    async with _mtls_proxy(upstream, server_crt, server_key, tills / "ca.crt") as port:
        client = await _connect(port, tls)
        info = await client.workflow_service.get_system_info(GetSystemInfoRequest())
        assert info.server_version
        # No client certificate, or one of another CA: refused at the TLS handshake.
        for refused in (
            TLSConfig(server_root_ca_cert=server_ca.read_bytes(), domain="grpc.shop.test"),
            TLSConfig(
                server_root_ca_cert=server_ca.read_bytes(),
                domain="grpc.shop.test",
                client_cert=(other / "till.crt").read_bytes(),
                client_private_key=(other / "till.key").read_bytes(),
            ),
        ):
            with pytest.raises(Exception) as err:  # noqa: B017 - the SDK's error type varies
                await _connect(port, refused)
            assert not isinstance(err.value, TimeoutError)  # refused, not stuck


def test_half_a_certificate_or_an_unreadable_file_is_named(tmp_path: Path) -> None:
    assert temporal_tls(Settings(_env_file=None)) is None  # type: ignore[call-arg]  # _env_file is pydantic-settings' own init argument
    with pytest.raises(SystemExit, match="TILLFLOW_TEMPORAL_TLS_KEY"):
        temporal_tls(Settings(_env_file=None, temporal_tls_cert=tmp_path / "c.crt"))  # type: ignore[call-arg]  # _env_file is pydantic-settings' own init argument
    with pytest.raises(SystemExit, match="TILLFLOW_TEMPORAL_TLS_CERT: cannot read"):
        temporal_tls(
            Settings(  # type: ignore[call-arg]  # _env_file is pydantic-settings' own init argument
                _env_file=None,
                temporal_tls_cert=tmp_path / "c.crt",
                temporal_tls_key=tmp_path / "k",
            )
        )
