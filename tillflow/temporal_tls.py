"""TLS of a till machine's connection to the Temporal frontend behind the proxy (issue 18): a
client certificate per till (deploy/issue-till-cert.sh), checked by Caddy (mTLS)."""

from __future__ import annotations

from temporalio.service import TLSConfig

from tillflow.settings import Settings


def temporal_tls(settings: Settings) -> TLSConfig | None:
    """The TLSConfig for Client.connect(tls=...); None when no client certificate is set (plain
    gRPC inside the compose network, or the local stack). SystemExit names a missing or unreadable
    file, so a till machine's service says what to fix."""
    cert, key = settings.temporal_tls_cert, settings.temporal_tls_key
    if cert is None and key is None and settings.temporal_tls_ca is None:
        return None
    if (cert is None) != (key is None):
        raise SystemExit(
            "Set both TILLFLOW_TEMPORAL_TLS_CERT and TILLFLOW_TEMPORAL_TLS_KEY (the till's "
            "certificate and its key), or neither."
        )

    def read(path: object, name: str) -> bytes | None:
        if path is None:
            return None
        try:
            with open(str(path), "rb") as f:
                return f.read()
        except OSError as err:
            raise SystemExit(f"{name}: cannot read {path}: {err.strerror}") from None

    return TLSConfig(
        client_cert=read(cert, "TILLFLOW_TEMPORAL_TLS_CERT"),
        client_private_key=read(key, "TILLFLOW_TEMPORAL_TLS_KEY"),
        server_root_ca_cert=read(settings.temporal_tls_ca, "TILLFLOW_TEMPORAL_TLS_CA"),
        domain=settings.temporal_tls_server_name or None,
    )
