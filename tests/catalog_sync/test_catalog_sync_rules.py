"""The pure rules of catalogue sync: what a web store's edit means, and how outbox rows coalesce."""

from __future__ import annotations

from dataclasses import replace

from domain.catalog_sync import (
    Ownership,
    ProductState,
    RemoteProduct,
    RemoteVariant,
    VariantState,
    coalesce,
    compare,
    remote_snapshot,
)

OURS = ProductState(
    code="P1",
    title="Linen shirt",
    description="Soft",
    status="active",
    currency="EUR",
    variants=(VariantState(sku="P1", price=1000, barcode="4006381333931"),),
)


def remote(**changes: object) -> RemoteProduct:
    variant = RemoteVariant(
        variant_id="11",
        sku="P1",
        barcode=str(changes.pop("barcode", "4006381333931")),
        price=changes.pop("price", 1000),  # type: ignore[arg-type]  # an int or None in these tests
    )
    return RemoteProduct(
        product_id="1",
        title=str(changes.pop("title", "Linen shirt")),
        description=str(changes.pop("description", "Soft")),
        variants=(variant,),
    )


def test_an_echo_of_our_own_push_is_no_change() -> None:
    assert compare(OURS, remote(), OURS.snapshot(), Ownership()) == []


def test_price_and_barcode_are_always_conflicts() -> None:
    found = compare(
        OURS,
        remote(price=800, barcode="5000112637922"),
        OURS.snapshot(),
        Ownership(title="webstore", description="webstore"),
    )
    assert [(f.field, f.action, f.theirs) for f in found] == [
        ("price", "conflict", "800"),
        ("barcode", "conflict", "5000112637922"),
    ]


def test_titles_follow_their_owner() -> None:
    edited = remote(title="Shirt, linen")
    (mine,) = compare(OURS, edited, OURS.snapshot(), Ownership())
    (theirs,) = compare(OURS, edited, OURS.snapshot(), Ownership(title="webstore"))
    assert (mine.action, theirs.action) == ("conflict", "apply")


def test_a_value_we_pushed_before_a_newer_change_is_not_an_edit() -> None:
    """tillflow changed the price after its last push; a webhook still showing the old one is
    not the store's edit."""
    newer = replace(OURS, variants=(VariantState(sku="P1", price=1200, barcode="4006381333931"),))
    assert compare(newer, remote(price=1000), OURS.snapshot(), Ownership()) == []


def test_after_a_conflict_the_snapshot_is_the_store_s_value() -> None:
    """So the push back really sends tillflow's value (it differs from the snapshot)."""
    snap = remote_snapshot(remote(price=800), OURS, OURS.snapshot(), {"P1": "11"})
    assert snap["variants"]["P1"]["price"] == 800 and snap != OURS.snapshot()


def test_rows_coalesce_per_product_and_skip_the_store_s_own() -> None:
    rows = [
        ("A", "upsert", ["price"], "tillflow"),
        ("B", "upsert", ["title"], "webstore:shop"),
        ("A", "upsert", ["title"], "tillflow"),
        ("C", "upsert", ["title"], "webstore:other"),
        ("A", "delete", [], "tillflow"),
    ]
    out = {c.product_code: c for c in coalesce(rows, "webstore:shop")}
    assert set(out) == {"A", "C"}
    assert out["A"].deleted and out["A"].fields == {"price", "title"}


def test_a_store_rewriting_the_markup_has_not_changed_the_description() -> None:
    ours = replace(OURS, description="Soft &amp; light")
    assert compare(ours, remote(description="<p>Soft &amp;  light</p>"), {}, Ownership()) == []
    (edit,) = compare(ours, remote(description="<p>Rough</p>"), {}, Ownership())
    assert edit.field == "description" and edit.action == "conflict"


def test_a_product_without_a_title_option_gets_shopify_s_default() -> None:
    assert OURS.option_names() == ("Title",)
    assert OURS.option_values(OURS.variants[0]) == (("Title", "Default Title"),)
