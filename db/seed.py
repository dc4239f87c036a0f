"""The demo retailer: three stores (Zürich in CHF) and a warehouse, five tills, 42 products
(53 SKUs), staff with PINs.

Seeding is idempotent: it does nothing when the demo locations exist already.
Opening stock goes through the ledger, so on_hand equals the sum of movements from the start.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from contracts.sale import GIFT_CARD_SKU
from db.models import (
    Barcode,
    Location,
    LocationTaxRate,
    Price,
    Product,
    TaxCategory,
    Till,
    User,
    UserLocation,
    Variant,
)
from db.models_fiscal import FiscalUnitRow
from db.models_fulfilment import StoreHoursRow
from db.repositories.stock import Movement, apply_movements
from domain.barcodes import make_ean13
from domain.store_hours import parse_hhmm

LOCATIONS = [
    # code, name, kind, timezone, address, ship_from_store, {tax code: basis points}
    (
        "BER",
        "tillflow Berlin Mitte",
        "store",
        "Europe/Berlin",
        "Rosenthaler Str. 40, 10178 Berlin",
        True,
        {"standard": 1900, "reduced": 700, "zero": 0},
    ),
    (
        "LIS",
        "tillflow Lisboa Chiado",
        "store",
        "Europe/Lisbon",
        "Rua Garrett 19, 1200-203 Lisboa",
        True,
        {"standard": 2300, "reduced": 600, "zero": 0},
    ),
    (  # issue 19: a store in another currency (CHF, Swiss VAT); sells only what has a CHF price
        "ZRH",
        "tillflow Zürich Kreis 1",
        "store",
        "Europe/Zurich",
        "Rennweg 12, 8001 Zürich",
        False,
        {"standard": 810, "reduced": 260, "zero": 0},
    ),
    (
        "WH1",
        "tillflow Warehouse Leipzig",
        "warehouse",
        "Europe/Berlin",
        "Am Exer 10, 04158 Leipzig",
        True,
        {"standard": 1900, "reduced": 700, "zero": 0},
    ),
]
TILLS = [("BER1", "BER"), ("BER2", "BER"), ("LIS1", "LIS"), ("LIS2", "LIS"), ("ZRH1", "ZRH")]
# Every location sells in EUR but these (issue 19); a store in another currency sells only the
# SKUs of its own price list, and holds stock of those only.
CURRENCIES = {"ZRH": "CHF"}
# How each store's receipts and reports write money (issue 19); the warehouse prints no receipts.
LOCALES = {"BER": "de_DE", "LIS": "pt_PT", "ZRH": "de_CH"}
# Issue 20: the Lisbon store signs its documents as certified software does (signed locally: it
# works with no internet), with DEMO series and validation codes the AT never issued and the key
# generated for the local default, so nothing it prints is fiscally valid. Berlin needs a fiskaly
# account for its TSE, which a demo has not: it signs nothing until one is configured
# (docs/fiscal-germany.md).
DEMO_FISCAL_UNITS: dict[str, tuple[str, dict[str, str]]] = {
    "LIS": (
        "pt-at",
        {
            "nif": "500000000",
            "company_name": "tillflow Demo Retalho, Lda. (DEMO)",
            "address": "Rua Augusta 100",
            "city": "Lisboa",
            "postal_code": "1100-053",
            "series.FS": "DEMOFS",
            "validation_code.DEMOFS": "DEMOFS00",
            "series.NC": "DEMONC",
            "validation_code.DEMONC": "DEMONC00",
        },
    )
}
# sku -> price in CHF centimes (tax inclusive) at ZRH
CHF_PRICES = {
    "MUG-ENAMEL": 1490,
    "TOTE-CANVAS": 2290,
    "NOTEBOOK-A5": 1690,
    "COFFEE-BEANS": 1590,
    "CHOC-DARK": 450,
    "PEN-BRASS": 4500,
}
# The demo's prices hold since the shop opened: an offline sale is priced as of its own time.
PRICES_SINCE = datetime(2020, 1, 1, tzinfo=UTC)
# Opening hours (local time): weekdays 0 = Monday … 5 = Saturday; closed on Sunday. Pickup deadlines
# count these.
STORE_HOURS = {
    "BER": [(d, "09:00", "20:00") for d in range(6)],
    "LIS": [(d, "10:00", "20:00") for d in range(6)],
    "ZRH": [(d, "09:00", "19:00") for d in range(6)],
}
# Coordinates and country, so online orders are routed to the nearest location.
PLACES: dict[str, dict[str, object]] = {
    "BER": {"latitude": 52.5291, "longitude": 13.4016, "country": "DE"},
    "LIS": {"latitude": 38.7107, "longitude": -9.1422, "country": "PT"},
    "ZRH": {"latitude": 47.3717, "longitude": 8.5393, "country": "CH"},
    "WH1": {"latitude": 51.3727, "longitude": 12.3730, "country": "DE"},
}

# product code, name, category, tax, price (cents, tax inclusive), variants (name -> attributes)
SIMPLE = [
    ("MUG-ENAMEL", "Enamel mug", "home", "standard", 1290),
    ("MUG-STONE", "Stoneware mug", "home", "standard", 1490),
    ("TOTE-CANVAS", "Canvas tote bag", "accessories", "standard", 1990),
    ("NOTEBOOK-A5", "A5 dotted notebook", "stationery", "standard", 1450),
    ("NOTEBOOK-A6", "A6 pocket notebook", "stationery", "standard", 890),
    ("PEN-BRASS", "Brass pen", "stationery", "standard", 3900),
    ("PENCIL-SET", "Pencil set (6)", "stationery", "standard", 990),
    ("CANDLE-FIG", "Fig candle", "home", "standard", 2490),
    ("CANDLE-CEDAR", "Cedar candle", "home", "standard", 2490),
    ("SOAP-OLIVE", "Olive oil soap", "care", "standard", 650),
    ("SOAP-LAV", "Lavender soap", "care", "standard", 650),
    ("TEA-GREEN", "Green tea 100 g", "food", "reduced", 890),
    ("TEA-BLACK", "Black tea 100 g", "food", "reduced", 790),
    ("COFFEE-BEANS", "Coffee beans 250 g", "food", "reduced", 1290),
    ("CHOC-DARK", "Dark chocolate 100 g", "food", "reduced", 390),
    ("CHOC-MILK", "Milk chocolate 100 g", "food", "reduced", 350),
    ("HONEY-JAR", "Wildflower honey 250 g", "food", "reduced", 990),
    ("BOOK-COOK", "The Small Kitchen (book)", "books", "reduced", 2800),
    ("BOOK-CITY", "City Walks (book)", "books", "reduced", 1800),
    ("POSTCARD", "Postcard", "stationery", "standard", 150),
    ("WRAP-PAPER", "Wrapping paper roll", "stationery", "standard", 450),
    ("PLANT-POT", "Terracotta pot", "home", "standard", 1190),
    ("VASE-GLASS", "Glass vase", "home", "standard", 3490),
    ("BLANKET-WOOL", "Wool blanket", "home", "standard", 8900),
    ("UMBRELLA", "Compact umbrella", "accessories", "standard", 2490),
    ("WATER-BOTTLE", "Steel water bottle", "accessories", "standard", 2290),
    ("LUNCH-BOX", "Bamboo lunch box", "accessories", "standard", 1690),
    ("SUNGLASSES", "Sunglasses", "accessories", "standard", 4900),
    ("KEYRING", "Leather keyring", "accessories", "standard", 990),
    ("CARD-GREETING", "Greeting card", "stationery", "standard", 350),
    ("OLIVE-OIL", "Olive oil 500 ml", "food", "reduced", 1490),
    ("JAM-APRICOT", "Apricot jam 220 g", "food", "reduced", 590),
    ("BOOK-KIDS", "The Sleepy Owl (book)", "books", "reduced", 1400),
    ("TOWEL-LINEN", "Linen tea towel", "home", "standard", 1590),
    ("APRON", "Canvas apron", "home", "standard", 3290),
    ("SCARF-WOOL", "Wool scarf", "accessories", "standard", 4490),
    ("LAMP-DESK", "Desk lamp", "home", "standard", 6900),
    ("PUZZLE-500", "Jigsaw puzzle (500)", "toys", "standard", 1990),
]
VARIANTS = [
    (
        "TSHIRT-ORG",
        "Organic T-shirt",
        "apparel",
        "standard",
        2490,
        [
            (f"{c} / {s}", {"colour": c, "size": s})
            for c in ("Black", "White")
            for s in ("S", "M", "L")
        ],
    ),
    (
        "HOODIE",
        "Hoodie",
        "apparel",
        "standard",
        5990,
        [(f"Grey / {s}", {"colour": "Grey", "size": s}) for s in ("S", "M", "L", "XL")],
    ),
    (
        "SOCKS",
        "Wool socks",
        "apparel",
        "standard",
        1290,
        [(s, {"size": s}) for s in ("36-39", "40-43", "44-47")],
    ),
    (
        "CAP",
        "Cotton cap",
        "apparel",
        "standard",
        1990,
        [(c, {"colour": c}) for c in ("Navy", "Olive")],
    ),
]


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    role: str
    locations: tuple[str, ...]
    staff_code: str | None
    pin: str | None
    password: str | None


DEMO_USERS = [
    DemoUser("carl", "Carl Cashier", "cashier", ("BER",), "1001", "1234", None),
    DemoUser("cora", "Cora Cashier", "cashier", ("BER",), "1002", "2345", None),
    DemoUser("luis", "Luis Caixa", "cashier", ("LIS",), "2001", "1234", None),
    DemoUser("lara", "Lara Caixa", "cashier", ("LIS",), "2002", "2345", None),
    DemoUser("zoe", "Zoe Kasse", "cashier", ("ZRH",), "3001", "1234", None),
    DemoUser("max", "Max Filialleiter", "manager", ("ZRH",), "9003", "9003", "zurich-demo"),
    DemoUser(
        "mia", "Mia Manager", "manager", ("BER", "LIS", "WH1"), "9001", "9001", "manager-demo"
    ),
    DemoUser(
        "finn", "Finn Fulfilment", "fulfilment", ("BER", "LIS", "WH1"), None, None, "fulfil-demo"
    ),
    DemoUser(
        "fiona", "Fiona Finance", "finance", ("BER", "LIS", "WH1"), None, None, "finance-demo"
    ),
    DemoUser("admin", "Ada Admin", "admin", ("BER", "LIS", "WH1"), None, None, "admin-demo"),
]


_CatalogueRow = tuple[str, str, str, str, int, list[tuple[str, dict[str, str]]]]


def _catalogue() -> list[_CatalogueRow]:
    rows: list[_CatalogueRow] = [
        (c, n, cat, tax, price, [("", {})]) for c, n, cat, tax, price in SIMPLE
    ]
    rows += [(c, n, cat, tax, price, list(vs)) for c, n, cat, tax, price, vs in VARIANTS]
    return rows


def demo_skus() -> list[str]:
    out = []
    for code, _, _, _, _, variants in _catalogue():
        out += [
            code if not vname else f"{code}-{i + 1:02d}" for i, (vname, _) in enumerate(variants)
        ]
    return out


def seed_demo(
    session: Session,
    *,
    hash_secret: Callable[[str], str],
    receipts_dir: Path,
    opening_stock: int = 40,
    shifts_required: bool = True,
    locales: bool = True,
    fiscal: bool = True,
) -> bool:
    """Create the demo retailer once; returns False when it exists already. `locales` False
    leaves the stores without a locale (money written as EUR 1234.50); `fiscal` False leaves
    Lisbon without its (demo) fiscal unit."""
    if session.scalar(select(Location).where(Location.code == "BER")) is not None:
        return False
    taxes = {
        code: TaxCategory(code=code, name=code.title()) for code in ("standard", "reduced", "zero")
    }
    session.add_all(taxes.values())
    locs: dict[str, Location] = {}
    for code, name, kind, tz, address, sfs, _rates in LOCATIONS:
        locs[code] = Location(
            code=code,
            name=name,
            kind=kind,
            timezone=tz,
            address=address,
            currency=CURRENCIES.get(code, "EUR"),
            prices_include_tax=True,
            ship_from_store=sfs,
            shift_required=shifts_required and kind == "store",
            locale=LOCALES.get(code, "") if locales else "",
            **PLACES.get(code, {}),
        )
    session.add_all(locs.values())
    session.flush()
    if fiscal:
        session.add_all(
            FiscalUnitRow(location_id=locs[code].id, scheme=scheme, options=options)
            for code, (scheme, options) in DEMO_FISCAL_UNITS.items()
        )
    for code, *_, rates in LOCATIONS:
        for tax, bp in rates.items():
            session.add(
                LocationTaxRate(
                    location_id=locs[code].id, tax_category_id=taxes[tax].id, rate_bp=bp
                )
            )
    for code, days in STORE_HOURS.items():
        session.add_all(
            StoreHoursRow(
                location_id=locs[code].id,
                weekday=d,
                opens_minute=parse_hhmm(opens),
                closes_minute=parse_hhmm(closes),
            )
            for d, opens, closes in days
        )
    for till, till_loc in TILLS:
        session.add(
            Till(
                code=till,
                location_id=locs[till_loc].id,
                name=f"Till {till}",
                printer_url=f"file:{receipts_dir / f'{till}.bin'}",
            )
        )
    ean = 4006381000000 // 10  # a 12-digit base; each SKU gets the next number and its check digit
    skus: list[str] = []
    for pcode, name, cat, tax, price, variants in _catalogue():
        product = Product(code=pcode, name=name, category=cat, tax_category_id=taxes[tax].id)
        session.add(product)
        session.flush()
        for i, (vname, attrs) in enumerate(variants):
            sku = pcode if not vname else f"{pcode}-{i + 1:02d}"
            variant = Variant(product_id=product.id, sku=sku, name=vname, attributes=attrs)
            session.add(variant)
            session.flush()
            ean += 1
            session.add(Barcode(code=make_ean13(str(ean)), variant_id=variant.id))
            session.add(
                Price(
                    variant_id=variant.id,
                    location_id=None,
                    amount=price,
                    currency="EUR",
                    valid_from=PRICES_SINCE,
                )
            )
            if sku in CHF_PRICES:
                session.add(
                    Price(
                        variant_id=variant.id,
                        location_id=locs["ZRH"].id,
                        amount=CHF_PRICES[sku],
                        currency="CHF",
                        valid_from=PRICES_SINCE,
                    )
                )
            skus.append(sku)
    # Gift cards are sold at the till for any amount; they carry no stock and no tax.
    gift = Product(
        code=GIFT_CARD_SKU,
        name="Gift card",
        category="gift_card",
        tax_category_id=taxes["zero"].id,
        tracks_stock=False,
    )
    session.add(gift)
    session.flush()
    session.add(Variant(product_id=gift.id, sku=GIFT_CARD_SKU, name="", attributes={}))
    session.flush()
    now = datetime.now(UTC)
    for code, loc in locs.items():
        qty = opening_stock * (5 if code == "WH1" else 1)
        apply_movements(
            session,
            loc.id,
            [
                Movement(sku, qty, "opening_balance", "demo seed", f"seed:{code}:{sku}")
                for sku in skus
                if code not in CURRENCIES or sku in CHF_PRICES
            ],
            workflow_id=None,
            occurred_at=now,
        )
    for u in DEMO_USERS:
        user = User(
            username=u.username,
            display_name=u.display_name,
            role=u.role,
            staff_code=u.staff_code,
            pin_hash=hash_secret(u.pin) if u.pin else None,
            password_hash=hash_secret(u.password) if u.password else None,
        )
        session.add(user)
        session.flush()
        session.add_all(UserLocation(user_id=user.id, location_id=locs[c].id) for c in u.locations)
    session.flush()
    return True
