"""Portuguese signer tests (issue 20): a store of their own (its own code, tills and series) so
nothing they sign touches LIS, and a software key generated for the run. No Temporal."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import delete

from db.models import Location
from db.models_fiscal_pt import FiscalPtDocument, FiscalPtSeries
from db.session import Database
from domain.fiscal_pt import generate_private_key_pem, load_private_key
from integrations.fiscal_pt import PortugalSigner, PtSoftware


@pytest.fixture(scope="session")
def pt_software() -> PtSoftware:
    return PtSoftware(
        key=load_private_key(generate_private_key_pem()),
        key_version=1,
        certificate="9999",
        producer_nif="999999990",
        product_id="tillflow/tillflow",
        product_version="0.1",
        demo_key=False,
    )


@pytest.fixture
def pt_store(db: Database) -> Iterator[str]:
    """A Lisbon store of this test's own; its documents and series go with it."""
    code = f"PT{uuid.uuid4().hex[:8].upper()}"
    with db.unit_of_work() as s:
        loc = Location(
            code=code,
            name=f"Loja {code}",
            kind="store",
            timezone="Europe/Lisbon",
            currency="EUR",
            country="PT",
        )
        s.add(loc)
        s.flush()
        location_id = loc.id
    yield code
    with db.unit_of_work() as s:
        s.execute(delete(FiscalPtDocument).where(FiscalPtDocument.location_id == location_id))
        s.execute(delete(FiscalPtSeries).where(FiscalPtSeries.location_id == location_id))
        s.execute(delete(Location).where(Location.id == location_id))


@pytest.fixture
def pt_signer(db: Database, pt_software: PtSoftware) -> PortugalSigner:
    return PortugalSigner(db, pt_software)
