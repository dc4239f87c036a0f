"""FakeS3: the few S3 REST calls tillflow makes (PutObject, GetObject), on 127.0.0.1 with an
ephemeral port, answering in S3's documented shapes: path-style `/{bucket}/{key}`, SigV4
`Authorization` with the access key id checked, the object's Content-Type and ETag back, and S3's
XML errors (NoSuchKey, NoSuchBucket, InvalidAccessKeyId)."""

from __future__ import annotations

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit
from xml.sax.saxutils import escape


class FakeS3:
    def __init__(self, bucket: str, access_key_id: str) -> None:
        self.bucket = bucket
        self.access_key_id = access_key_id
        self.objects: dict[str, tuple[bytes, str]] = {}
        self.calls: list[tuple[str, str]] = []
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeS3:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_PUT(self) -> None:
                fake._handle(self)

            def do_GET(self) -> None:
                fake._handle(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        path = unquote(urlsplit(h.path).path)
        bucket, _, key = path.lstrip("/").partition("/")
        self.calls.append((h.command, path))
        auth = h.headers.get("Authorization", "")
        if not auth.startswith(f"AWS4-HMAC-SHA256 Credential={self.access_key_id}/"):
            return self._error(
                h,
                403,
                "InvalidAccessKeyId",
                "The AWS Access Key Id you provided does not exist in our records.",
                key,
            )
        if bucket != self.bucket:
            return self._error(h, 404, "NoSuchBucket", "The specified bucket does not exist.", key)
        if h.command == "PUT":
            media = h.headers.get("Content-Type", "binary/octet-stream")
            self.objects[key] = (body, media)
            return self._reply(h, 200, b"", {"ETag": _etag(body)})
        found = self.objects.get(key)
        if found is None:
            return self._error(h, 404, "NoSuchKey", "The specified key does not exist.", key)
        data, media = found
        return self._reply(h, 200, data, {"Content-Type": media, "ETag": _etag(data)})

    def _error(self, h: BaseHTTPRequestHandler, status: int, code: str, msg: str, key: str) -> None:
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{code}</Code><Message>{escape(msg)}</Message>"
            f"<Key>{escape(key)}</Key><RequestId>fake</RequestId></Error>"
        ).encode()
        self._reply(h, status, xml, {"Content-Type": "application/xml"})

    @staticmethod
    def _reply(
        h: BaseHTTPRequestHandler, status: int, data: bytes, headers: dict[str, str]
    ) -> None:
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(data)))
        h.send_header("x-amz-request-id", "fake")
        h.end_headers()
        h.wfile.write(data)


def _etag(data: bytes) -> str:
    return '"' + hashlib.md5(data).hexdigest() + '"'  # noqa: S324 - S3's ETag is an MD5
