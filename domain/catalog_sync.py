"""Catalogue sync rules (pure): what tillflow tells a web store about a product, and what a change
made in the web store's own admin means — applied (a field the web store owns), a conflict (a
field tillflow owns: price, barcode, and titles / descriptions unless the web store owns them), or
nothing (an echo of what tillflow pushed itself)."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["active", "draft", "archived"]
Owner = Literal["tillflow", "webstore"]
Field = Literal["title", "description", "price", "barcode"]
DEFAULT_OPTION = ("Title", "Default Title")  # Shopify's option of a product without variants


@dataclass(frozen=True)
class VariantState:
    """One of our variants as a web store sells it: price in minor units (None: no price in the
    store's currency), the barcode it is scanned by ("" when it has none)."""

    sku: str
    name: str = ""
    options: tuple[tuple[str, str], ...] = ()
    price: int | None = None
    barcode: str = ""


@dataclass(frozen=True)
class ProductState:
    """One of our products as one web store should show it."""

    code: str
    title: str
    description: str
    status: Status
    currency: str
    variants: tuple[VariantState, ...] = ()

    def snapshot(self) -> dict[str, Any]:
        """What is remembered as pushed: compared with the next push and with webhooks."""
        return {
            "title": self.title,
            "description": self.description,
            "status": self.status,
            "variants": {v.sku: {"price": v.price, "barcode": v.barcode} for v in self.variants},
        }

    def option_names(self) -> tuple[str, ...]:
        """The product's option names (Shopify allows three): the variants' attribute names, or
        one `Title` option when the variants have none."""
        names: list[str] = []
        for v in self.variants:
            for name, _ in v.options:
                if name not in names:
                    names.append(name)
        return tuple(names[:3]) or (DEFAULT_OPTION[0],)

    def option_values(self, v: VariantState) -> tuple[tuple[str, str], ...]:
        """(option name, value) for every option of the product, so each variant names them all."""
        names = self.option_names()
        given = dict(v.options)
        if names == (DEFAULT_OPTION[0],) and not given:
            single = len(self.variants) == 1
            return ((DEFAULT_OPTION[0], DEFAULT_OPTION[1] if single else (v.name or v.sku)),)
        return tuple((n, str(given.get(n) or "-")) for n in names)


@dataclass(frozen=True)
class RemoteVariant:
    variant_id: str
    sku: str
    barcode: str = ""
    price: int | None = None
    inventory_item_id: str = ""


@dataclass(frozen=True)
class RemoteProduct:
    """A product as the web store has it (a webhook body or a look-up)."""

    product_id: str
    title: str = ""
    description: str = ""
    status: str = ""
    variants: tuple[RemoteVariant, ...] = ()
    version_us: int = 0  # the store's modification time, microseconds since the epoch
    deleted: bool = False


@dataclass(frozen=True)
class Ownership:
    """Which system owns the fields a web store admin can edit; price, barcode and stock are
    always tillflow's."""

    title: Owner = "tillflow"
    description: Owner = "tillflow"

    def owner(self, name: str) -> Owner:
        if name == "title":
            return self.title
        if name == "description":
            return self.description
        return "tillflow"


@dataclass(frozen=True)
class Finding:
    """One field the web store changed: `apply` it to tillflow, or report a `conflict`."""

    field: Field
    action: Literal["apply", "conflict"]
    sku: str = ""
    ours: str = ""
    theirs: str = ""
    theirs_amount: int | None = None


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


def _same_text(name: str, a: Any, b: Any) -> bool:
    """Descriptions are compared without their markup and spacing: a store that rewrites the HTML
    it was sent (wrapping it in <p>, say) has not changed the text."""
    if name != "description":
        return _text(a) == _text(b)
    return (
        _SPACE.sub(" ", html.unescape(_TAG.sub(" ", _text(a)))).strip()
        == _SPACE.sub(" ", html.unescape(_TAG.sub(" ", _text(b)))).strip()
    )


def _variant_of(remote: RemoteProduct, sku: str, variant_id: str) -> RemoteVariant | None:
    for rv in remote.variants:
        if (variant_id and rv.variant_id == variant_id) or (sku and rv.sku == sku):
            return rv
    return None


def compare(
    ours: ProductState,
    remote: RemoteProduct,
    pushed: Mapping[str, Any],
    owners: Ownership,
    variant_ids: Mapping[str, str] | None = None,
) -> list[Finding]:
    """What the web store changed. A value equal to ours, or to what we last pushed (the echo of
    our own push, or an edit of another field), is no change."""
    found: list[Finding] = []
    for name, mine in (("title", ours.title), ("description", ours.description)):
        theirs = _text(getattr(remote, name))
        if _same_text(name, theirs, mine) or _same_text(name, theirs, pushed.get(name)):
            continue
        if name == "title" and not theirs:
            continue  # a title cannot be emptied; a body without one says nothing about it
        found.append(
            Finding(
                field=name,  # type: ignore[arg-type]  # name is one of the two literals above
                action="apply" if owners.owner(name) == "webstore" else "conflict",
                ours=_text(mine),
                theirs=theirs,
            )
        )
    before = pushed.get("variants") or {}
    for v in ours.variants:
        rv = _variant_of(remote, v.sku, (variant_ids or {}).get(v.sku, ""))
        if rv is None:
            continue
        last = before.get(v.sku) or {}
        if (
            rv.price is not None
            and v.price is not None
            and rv.price not in (v.price, last.get("price"))
        ):
            found.append(
                Finding(
                    field="price",
                    action="conflict",
                    sku=v.sku,
                    ours=str(v.price),
                    theirs=str(rv.price),
                    theirs_amount=rv.price,
                )
            )
        theirs_code = _text(rv.barcode)
        if theirs_code not in (_text(v.barcode), _text(last.get("barcode"))):
            found.append(
                Finding(
                    field="barcode",
                    action="conflict",
                    sku=v.sku,
                    ours=v.barcode,
                    theirs=theirs_code,
                )
            )
    return found


def remote_snapshot(
    remote: RemoteProduct,
    ours: ProductState,
    pushed: Mapping[str, Any],
    variant_ids: Mapping[str, str],
) -> dict[str, Any]:
    """What the web store holds now, in the form of `ProductState.snapshot`: after a webhook the
    next push is compared with it, so a value pushed back (a conflict) really is sent again."""
    variants: dict[str, Any] = {}
    for v in ours.variants:
        rv = _variant_of(remote, v.sku, variant_ids.get(v.sku, ""))
        last = (pushed.get("variants") or {}).get(v.sku) or {}
        variants[v.sku] = (
            {"price": rv.price, "barcode": _text(rv.barcode)} if rv is not None else dict(last)
        )
    return {
        "title": _text(remote.title) or pushed.get("title", ""),
        "description": _text(remote.description),
        "status": pushed.get("status", ""),
        "variants": variants,
    }


@dataclass(frozen=True)
class Coalesced:
    """A product's outbox rows after a store's cursor, as one push."""

    product_code: str
    deleted: bool
    fields: frozenset[str] = field(default_factory=frozenset)


def coalesce(rows: list[tuple[str, str, list[str], str]], own_source: str) -> list[Coalesced]:
    """Rows of (product code, action, fields, source), oldest first, as one entry per product (the
    last action wins); a product whose every row came from this very store is left out."""
    out: dict[str, Coalesced] = {}
    for code, action, fields, source in rows:
        if source == own_source:
            continue
        prev = out.get(code)
        out[code] = Coalesced(
            product_code=code,
            deleted=action == "delete",
            fields=(prev.fields if prev else frozenset()) | frozenset(fields),
        )
    return list(out.values())
