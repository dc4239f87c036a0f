"""The till agent: a local web server (127.0.0.1) serving the till page and standing between it and
the central API; it keeps selling from its journal when the central API cannot be reached."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path as FsPath
from typing import Annotated, Any

import httpx
from fastapi import FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from devices.printers import RawPrinter
from domain.errors import DomainError
from tills.central import CentralRefused, CentralUnavailable
from tills.config import AgentConfig
from tills.offline_sale import TenderInput
from tills.page_models import LoginIn, QuoteIn, SaleIn
from tills.till import AgentError, TillAgent
from tills.till_routes import SessionDep
from tills.till_routes import router as day_router

log = logging.getLogger("tillflow.till")
STATIC = FsPath(__file__).parent / "static"


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(AgentError)
    async def _agent(_: Request, exc: AgentError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message)

    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        return _error(exc.http_status, exc.code, exc.message)

    @app.exception_handler(CentralRefused)
    async def _refused(_: Request, exc: CentralRefused) -> JSONResponse:
        # The central API's own answer (wrong PIN, unknown barcode, short tender) reaches the page
        # as is.
        body = (
            exc.body
            if isinstance(exc.body, dict) and "error" in exc.body
            else {"error": {"code": "refused", "message": str(exc.body)}}
        )
        return JSONResponse(body, status_code=exc.status)

    @app.exception_handler(CentralUnavailable)
    async def _unavailable(_: Request, exc: CentralUnavailable) -> JSONResponse:
        return _error(
            503, "offline", "The central system cannot be reached; try again in a moment."
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            ".".join(str(p) for p in e.get("loc", ()) if p not in ("body", "query", "header"))
            + f": {e.get('msg')}"
            for e in exc.errors()
        )
        return _error(422, "invalid", problems or "Invalid request.")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _error(exc.status_code, code, str(exc.detail))


SaleId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


def create_agent_app(
    config: AgentConfig,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    printer: RawPrinter | None = None,
    agent: TillAgent | None = None,
) -> FastAPI:
    """The agent's app; `transport` and `printer` replace the real network and printer in tests."""
    till = agent or TillAgent(config, transport=transport, printer=printer)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await till.start()
        log.info("till agent started", extra={"till": config.till, "api": config.api_url})
        try:
            yield
        finally:
            await till.stop()

    app = FastAPI(
        title=f"tillflow till {config.till}",
        lifespan=lifespan,
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
    )
    app.state.till = till
    _install_errors(app)

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/api/status")
    def status() -> dict[str, Any]:
        """Online or offline, sales waiting to upload, printer and scanner state."""
        return till.status()

    @app.get("/api/events")
    async def events() -> StreamingResponse:
        """Server-sent events: `scan` (a barcode from the scanner) and `status` (any change)."""
        return StreamingResponse(
            till.hub.stream(till.status()),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    @app.post("/api/login")
    async def login(body: LoginIn) -> dict[str, Any]:
        """Sign in with staff code and PIN (through the central API, or offline if signed in here
        before)."""
        s = await till.login(body.staff_code, body.pin)
        return {
            "session": s.token,
            "display_name": s.display_name,
            "role": s.role,
            "offline": s.central_token is None,
            "till": config.till,
        }

    @app.post("/api/logout", status_code=204)
    def logout(s: SessionDep) -> None:
        till.sessions.close(s.token)

    @app.get("/api/lookup")
    async def lookup(
        s: SessionDep, barcode: Annotated[str, Query(min_length=1, max_length=64)]
    ) -> Any:
        """The product behind a barcode."""
        return await till.lookup(s, barcode)

    @app.post("/api/quote")
    async def quote(body: QuoteIn, s: SessionDep) -> Any:
        """Basket totals with the store's tax."""
        return await till.quote(
            s,
            [(ln.sku, ln.quantity) for ln in body.lines],
            [a.model_dump() for a in body.adjustments],
            coupon_codes=body.coupon_codes,
            customer_id=body.customer_id,
        )

    @app.post("/api/sales")
    async def sale(body: SaleIn, s: SessionDep) -> Any:
        """Take payment: central while online, into the journal (and straight to the printer) when
        not."""
        tenders = [
            TenderInput(t.kind, t.amount, t.reference, t.brand, t.last4) for t in body.tenders
        ]
        return await till.sale(
            s,
            body.client_sale_id,
            [(ln.sku, ln.quantity) for ln in body.lines],
            tenders,
            adjustments=[a.model_dump() for a in body.adjustments],
            coupon_codes=body.coupon_codes,
            customer_id=body.customer_id,
            basket_started_at=body.basket_started_at,
            simulate=[t.simulate for t in body.tenders],
            customer_codes=[t.customer_code for t in body.tenders],
        )

    @app.post("/api/sales/{sale_id}/reprint")
    async def reprint(sale_id: SaleId, s: SessionDep) -> Any:
        """Print a sale's receipt again, marked REPRINT."""
        return await till.reprint(s, sale_id)

    app.include_router(day_router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
