"""The FileStore the settings ask for (PostgreSQL, or S3 when TILLFLOW_FILES_S3_BUCKET is set), one
per database and settings, for the worker that writes labels and the API that serves them."""

from __future__ import annotations

from db.session import Database
from integrations.files import FileStore, file_store
from tillflow.settings import Settings

_STORES: dict[tuple[int, str, str, str, str, str], FileStore] = {}


def file_store_for(settings: Settings, db: Database) -> FileStore:
    secret = settings.files_s3_secret_access_key
    key = (
        id(db),
        settings.files_s3_bucket,
        settings.files_s3_prefix,
        settings.files_s3_endpoint_url,
        settings.files_s3_region,
        settings.files_s3_access_key_id,
    )
    store = _STORES.get(key)
    if store is None:
        store = _STORES[key] = file_store(
            db,
            s3_bucket=settings.files_s3_bucket,
            s3_prefix=settings.files_s3_prefix,
            s3_endpoint_url=settings.files_s3_endpoint_url or None,
            s3_region=settings.files_s3_region or None,
            s3_access_key_id=settings.files_s3_access_key_id or None,
            s3_secret_access_key=secret.get_secret_value() if secret else None,
        )
    return store
