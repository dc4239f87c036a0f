"""Generated files (carrier labels, and any other file a worker makes for the API to serve) kept in
PostgreSQL, so no container's disk holds them (issue 18)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from db.models import Base, _now


class StoredFile(Base):
    """One file by its key (e.g. `labels/TF000000000001DE.pdf`); written once, read many times."""

    __tablename__ = "stored_files"
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = _now()
    __table_args__ = (CheckConstraint("size >= 0", name="size_not_negative"),)
