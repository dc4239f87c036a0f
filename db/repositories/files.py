"""Generated files kept in PostgreSQL (`stored_files`): put once per key, read by key."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from db.models_files import StoredFile


@dataclass(frozen=True)
class FileView:
    key: str
    media_type: str
    size: int
    sha256: str
    content: bytes


def put(session: Session, key: str, content: bytes, media_type: str) -> FileView:
    """Store a file under its key; the same key again keeps the first file (a retried activity
    writes nothing twice; generated files are deterministic per key)."""
    session.execute(
        insert(StoredFile)
        .values(
            key=key,
            media_type=media_type,
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            content=content,
        )
        .on_conflict_do_nothing(index_elements=["key"])
    )
    found = get(session, key)
    assert found is not None  # just written or already there
    return found


def get(session: Session, key: str) -> FileView | None:
    row = session.scalars(select(StoredFile).where(StoredFile.key == key)).first()
    if row is None:
        return None
    return FileView(row.key, row.media_type, row.size, row.sha256, row.content)


def remove(session: Session, key: str) -> bool:
    """Delete a file; False when there was none."""
    return bool(session.execute(delete(StoredFile).where(StoredFile.key == key)).rowcount)  # type: ignore[attr-defined]  # DML executes to a CursorResult
