"""The store's catalogue, prices, tax and offline card limits as last fetched: what the till sells
from offline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts.promotions import pin_from_json
from domain.errors import InvalidRequest, NotFound
from domain.offline import OfflineCardPolicy
from domain.pricing import PriceInput, Quote, price_basket
from domain.promotions import Basket, basket_lines, engine, price_inputs


@dataclass(frozen=True)
class Item:
    sku: str
    name: str
    tax_code: str
    unit_price: int
    barcodes: tuple[str, ...]


class Snapshot:
    """A read-only view of GET /tills/{till}/catalog, indexed for look-ups by barcode and SKU."""

    def __init__(self, body: dict[str, Any], fetched_at: datetime) -> None:
        self.body = body
        self.fetched_at = fetched_at
        store = body["store"]
        self.till: str = body["till"]
        self.store_code: str = store["code"]
        self.store_name: str = store["name"]
        self.address: str = store["address"]
        self.timezone: str = store["timezone"]
        self.locale: str = store.get("locale", "")  # a snapshot of an older central: none
        self.currency: str = body["currency"]
        self.prices_include_tax: bool = body["prices_include_tax"]
        self.tax_rates: dict[str, int] = dict(body["tax_rates"])
        # What it was made from (see GET /tills/{till}/catalog/version), and when a scheduled
        # price makes it stale; a snapshot saved by an older agent has neither.
        self.version: str = body.get("catalog_version", "")
        upcoming = body.get("next_change_at")
        self.next_change_at = datetime.fromisoformat(upcoming) if upcoming else None
        self.items = {
            i["sku"]: Item(
                i["sku"], i["name"], i["tax_code"], i["unit_price"], tuple(i["barcodes"])
            )
            for i in body["items"]
        }
        self._barcodes = {code: item for item in self.items.values() for code in item.barcodes}
        self.categories = {i["sku"]: i.get("category", "") for i in body["items"]}
        # The store's promotions without coupons or budgets (a snapshot of an older central
        # system has none): the replay prices the sale with the same ones, as of its time.
        self.promotions = pin_from_json(body.get("promotions") or {})
        card = body["offline_card"]
        self.card_policy = OfflineCardPolicy(
            enabled=card["enabled"],
            per_sale_cap=card["per_sale_cap"],
            total_cap=card["total_cap"],
            max_age=timedelta(hours=card["max_age_hours"]),
        )

    def stale_at(self, now: datetime, version: str | None) -> bool:
        """True when the central catalogue moved on (`version`, if known) or a scheduled price
        change has started since this snapshot was made."""
        if self.next_change_at is not None and now >= self.next_change_at:
            return True
        return version is not None and version != self.version

    def lookup(self, barcode: str) -> dict[str, Any]:
        """The item behind a barcode, shaped like the central look-up (stock unknown offline)."""
        item = self._barcodes.get(barcode.strip())
        if item is None:
            raise NotFound(f"No product has barcode {barcode}.")
        return {
            "sku": item.sku,
            "name": item.name,
            "category": "",
            "tax_code": item.tax_code,
            "unit_price": item.unit_price,
            "currency": self.currency,
            "barcodes": list(item.barcodes),
            "on_hand": None,
            "available": None,
        }

    def quote(self, lines: Sequence[tuple[str, int]], at: datetime | None = None) -> Quote:
        """Price a basket exactly as the central quote does, from the snapshot's prices, rates and
        promotions (at `at`, the sale's time)."""
        inputs = []
        for no, (sku, quantity) in enumerate(lines, start=1):
            item = self.items.get(sku)
            if item is None:
                raise NotFound(
                    f"Line {no}: no product with SKU {sku} in this till's offline catalogue."
                )
            inputs.append(
                PriceInput(no, item.sku, item.name, quantity, item.unit_price, item.tax_code)
            )
        if not inputs:
            raise InvalidRequest("The basket is empty.")
        priced: Sequence[PriceInput] = inputs
        if self.promotions.promotions:
            result = engine(self.promotions.engine_version)(
                Basket(
                    lines=basket_lines(inputs, self.categories),
                    currency=self.currency,
                    channel="store",
                    at=at or datetime.now(UTC),
                    timezone=self.timezone,
                ),
                [p.to_engine() for p in self.promotions.promotions],
                (),
            )
            priced, _ = price_inputs(inputs, result)
        return price_basket(
            priced,
            self.tax_rates,
            currency=self.currency,
            prices_include_tax=self.prices_include_tax,
        )
