"""One fiscal Protocol, one signer per location (issue 20).

A location's fiscal unit (`fiscal_units`: its scheme and the scheme's own settings, e.g. the TSS
and client of a fiskaly TSE, or the document series of a Portuguese store) picks its signer; a
location without one gets `NoFiscalSigner`, which signs nothing. The Sale, Return and Shift
workflows only ever call the signing activity (`activities/fiscal.py`), which calls the signer
through this Protocol: adding a country is a new signer and a new scheme, never a saga change.

Every method is idempotent per `document_id`: a retried activity asks again and gets the same
signature, never a second transaction or a second number.
"""

from __future__ import annotations

from typing import Protocol

from contracts.fiscal import (
    FiscalClosing,
    FiscalDocument,
    FiscalExport,
    FiscalExportRequest,
    FiscalScheme,
    FiscalSignature,
)

# A location's fiscal configuration: defined in contracts/fiscal.py (db/repositories/fiscal.py
# reads it, and db/ may not import integrations/), named here for the signers as before.
from contracts.fiscal import FiscalUnit as FiscalUnit
from domain.errors import Conflict, InvalidRequest


class FiscalSigner(Protocol):
    scheme: FiscalScheme

    async def start(self, unit: FiscalUnit, doc: FiscalDocument) -> None:
        """Open the document's transaction (a TSE transaction starts when the sale starts); a
        signer without transactions does nothing."""
        ...

    async def finish(self, unit: FiscalUnit, doc: FiscalDocument) -> FiscalSignature:
        """Finish and sign the document (starting it first when it was never started)."""
        ...

    async def cancel(self, unit: FiscalUnit, doc: FiscalDocument) -> None:
        """Cancel a started transaction whose document will never exist (an abandoned sale)."""
        ...

    async def sign_closing(self, unit: FiscalUnit, closing: FiscalClosing) -> FiscalSignature:
        """Sign or record a till's closing (a shift's Z report)."""
        ...

    async def export(self, unit: FiscalUnit, request: FiscalExportRequest) -> FiscalExport:
        """The file the tax office reads for a date range (DSFinV-K ZIP, SAF-T (PT) XML)."""
        ...


class NoFiscalSigner:
    """Countries that need no fiscal signing: every document is `not_required`."""

    scheme: FiscalScheme = "none"

    async def start(self, unit: FiscalUnit, doc: FiscalDocument) -> None:
        return None

    async def finish(self, unit: FiscalUnit, doc: FiscalDocument) -> FiscalSignature:
        return FiscalSignature(document_id=doc.document_id, scheme="none", status="not_required")

    async def cancel(self, unit: FiscalUnit, doc: FiscalDocument) -> None:
        return None

    async def sign_closing(self, unit: FiscalUnit, closing: FiscalClosing) -> FiscalSignature:
        return FiscalSignature(
            document_id=closing.document_id, scheme="none", status="not_required"
        )

    async def export(self, unit: FiscalUnit, request: FiscalExportRequest) -> FiscalExport:
        raise InvalidRequest(
            f"Location {unit.location_code} has no fiscal unit: there is nothing to export.",
            code="no_fiscal_unit",
        )


class FiscalSigners:
    """The signer for each scheme, built once per worker with its settings and clients."""

    def __init__(self, signers: dict[str, FiscalSigner] | None = None) -> None:
        self._signers: dict[str, FiscalSigner] = {"none": NoFiscalSigner()}
        self._signers.update(signers or {})

    def for_unit(self, unit: FiscalUnit | None) -> FiscalSigner:
        if unit is None:
            return self._signers["none"]
        try:
            return self._signers[unit.scheme]
        except KeyError:
            raise Conflict(
                f"Location {unit.location_code}'s fiscal scheme {unit.scheme!r} has no signer "
                "configured on this worker.",
                code="fiscal_signer_missing",
            ) from None
