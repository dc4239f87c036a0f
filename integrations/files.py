"""Where generated files (carrier labels) live: never a container's disk (issue 18).

`FileStore` is the Protocol; `PostgresFileStore` (the default) keeps them in the `stored_files`
table of tillflow's own database, `S3FileStore` in a bucket of any S3-compatible store (AWS S3,
MinIO, Ceph, Cloudflare R2, …) when `TILLFLOW_FILES_S3_BUCKET` is set. A parcel records the file's
reference (`files:labels/TF….pdf`), and the API reads it back from the same store, so the worker
that bought the label and the API replica that serves it need not share a disk.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from db.repositories import files as files_repo
from db.session import Database

REF_PREFIX = "files:"
MEDIA_TYPES = {"pdf": "application/pdf", "zpl": "application/x-zpl"}


@dataclass(frozen=True)
class StoredBlob:
    key: str
    media_type: str
    content: bytes


class FileStore(Protocol):
    def put(self, key: str, content: bytes, media_type: str) -> str:
        """Store the file under its key (again with the same key: nothing changes); return the
        reference to record (`files:<key>`)."""
        ...

    def get(self, key: str) -> StoredBlob | None:
        """The file under a key, None when there is none."""
        ...


def ref(key: str) -> str:
    return REF_PREFIX + key


def key_of(reference: str) -> str | None:
    """The key of a `files:` reference; None for anything else (e.g. an old label path)."""
    return reference[len(REF_PREFIX) :] if reference.startswith(REF_PREFIX) else None


class PostgresFileStore:
    """Files in tillflow's PostgreSQL (`stored_files`): backed up with the rest of its data."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def put(self, key: str, content: bytes, media_type: str) -> str:
        with self.db.unit_of_work() as s:
            files_repo.put(s, key, content, media_type)
        return ref(key)

    def get(self, key: str) -> StoredBlob | None:
        with self.db.unit_of_work() as s:
            found = files_repo.get(s, key)
        return None if found is None else StoredBlob(found.key, found.media_type, found.content)


class S3FileStore:
    """Files in an S3-compatible bucket (boto3). `client` is a boto3 S3 client; build one with
    `s3_client(...)`."""

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""

    def put(self, key: str, content: bytes, media_type: str) -> str:
        # PutObject overwrites; labels are deterministic per key, so a retry writes the same bytes.
        self.client.put_object(
            Bucket=self.bucket, Key=self.prefix + key, Body=content, ContentType=media_type
        )
        return ref(key)

    def get(self, key: str) -> StoredBlob | None:
        from botocore.exceptions import ClientError

        try:
            got = self.client.get_object(Bucket=self.bucket, Key=self.prefix + key)
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return None
            raise
        body = got["Body"]
        try:
            content = body.read()
        finally:
            body.close()
        return StoredBlob(key, got.get("ContentType") or "application/octet-stream", content)


class S3WithPostgresFallback:
    """New files to S3; reads from S3, else from PostgreSQL (files stored before the bucket was
    configured stay readable)."""

    def __init__(self, s3: S3FileStore, postgres: PostgresFileStore) -> None:
        self.s3 = s3
        self.postgres = postgres

    def put(self, key: str, content: bytes, media_type: str) -> str:
        return self.s3.put(key, content, media_type)

    def get(self, key: str) -> StoredBlob | None:
        found = self.s3.get(key)
        return found if found is not None else self.postgres.get(key)


def s3_client(
    *,
    endpoint_url: str | None,
    region: str | None,
    access_key_id: str | None,
    secret_access_key: str | None,
    timeout_s: float = 10.0,
) -> Any:
    """A boto3 S3 client. Without keys boto3 uses its own chain (instance role, ~/.aws)."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint_url or None,
        region_name=region or None,
        aws_access_key_id=access_key_id or None,
        aws_secret_access_key=secret_access_key or None,
        config=Config(
            connect_timeout=timeout_s,
            read_timeout=timeout_s,
            retries={"max_attempts": 3, "mode": "standard"},
            # Path-style works on every S3-compatible store (MinIO, Ceph); AWS accepts it too.
            s3={"addressing_style": "path"},
            # Checksums only where S3 requires them: several S3-compatible stores refuse the
            # newer default (aws-chunked bodies with CRC trailers).
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ),
    )


def file_store(
    db: Database,
    *,
    s3_bucket: str = "",
    s3_prefix: str = "",
    s3_endpoint_url: str | None = None,
    s3_region: str | None = None,
    s3_access_key_id: str | None = None,
    s3_secret_access_key: str | None = None,
) -> FileStore:
    """The configured store: S3 when a bucket is named (PostgreSQL still read), else PostgreSQL."""
    if not s3_bucket:
        return PostgresFileStore(db)
    client = s3_client(
        endpoint_url=s3_endpoint_url,
        region=s3_region,
        access_key_id=s3_access_key_id,
        secret_access_key=s3_secret_access_key,
    )
    return S3WithPostgresFallback(S3FileStore(client, s3_bucket, s3_prefix), PostgresFileStore(db))
