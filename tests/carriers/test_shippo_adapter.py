"""The Shippo adapter against a FakeShippoServer: rates, the chosen rate bought as a label, and
what Shippo refuses (issue 19)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from helpers.carriers import ADDRESS
from helpers.fake_shippo import FakeShippoServer

from domain.addresses import location_address
from integrations.carrier import CarrierError, LabelRequest
from integrations.shippo import ShippoCarrier, SignatureError, sign, track_update, verify_webhook

FROM = location_address("tillflow Berlin Mitte", "Rosenthaler Str. 40, 10178 Berlin", "DE")


def request(key: str = "ship:wf:BER:parcel:1", **changes: object) -> LabelRequest:
    base: dict[str, object] = {
        "key": key,
        "order_number": "SHP-1001",
        "ship_from": "tillflow Berlin Mitte, Rosenthaler Str. 40, 10178 Berlin",
        "ship_to_name": "Kim Kunde",
        "ship_to_country": "DE",
        "weight_g": 1450,
        "length_cm": 30,
        "width_cm": 20,
        "height_cm": 10,
        "ship_to": ADDRESS,
        "ship_from_address": FROM,
        "email": "kim@example.test",
    }
    base.update(changes)
    return LabelRequest(**base)  # type: ignore[arg-type]  # the fields above


@pytest.fixture
def server() -> Iterator[FakeShippoServer]:
    s = FakeShippoServer().start()
    yield s
    s.stop()


def carrier(server: FakeShippoServer, **kw: object) -> ShippoCarrier:
    return ShippoCarrier(server.token, server.url, **kw)  # type: ignore[arg-type]  # test knobs


def test_rates_come_back_cheapest_first_in_minor_units(server: FakeShippoServer) -> None:
    c = carrier(server)
    try:
        shipment_id, rates = c.rates(request())
    finally:
        c.close()
    assert shipment_id in server.shipments
    assert [(r.provider, r.amount, r.currency) for r in rates] == [
        ("Deutsche Post", 399, "EUR"),
        ("DHL Germany", 549, "EUR"),
        ("DHL Express", 1890, "EUR"),
    ]
    (call,) = server.requests("POST", "/shipments/")
    assert call.headers["authorization"] == f"ShippoToken {server.token}"
    assert call.body["address_to"] == {
        "name": "Kim Kunde",
        "street1": "Torstr. 1",
        "street2": "2. OG",
        "city": "Berlin",
        "state": "",
        "zip": "10119",
        "country": "DE",
        "phone": "+49 30 1234567",
        "email": "kim@example.test",
    }
    assert call.body["address_from"]["street1"] == "Rosenthaler Str. 40"
    assert call.body["address_from"]["zip"] == "10178"
    assert call.body["parcels"] == [
        {
            "length": "30",
            "width": "20",
            "height": "10",
            "distance_unit": "cm",
            "weight": "1450",
            "mass_unit": "g",
        }
    ]
    assert call.body["async"] is False


def test_the_label_of_the_configured_service_level_is_bought_and_downloaded(
    server: FakeShippoServer,
) -> None:
    c = carrier(server, service_level="dhl_germany_paket")
    try:
        label = c.buy_label(request())
    finally:
        c.close()
    (tx_call,) = server.requests("POST", "/transactions/")
    bought = server.rates[tx_call.body["rate"]]
    assert bought["servicelevel"]["token"] == "dhl_germany_paket"
    assert tx_call.body["label_file_type"] == "PDF_A6" and tx_call.body["async"] is False
    assert tx_call.body["metadata"] == "ship:wf:BER:parcel:1"
    assert label.carrier == "shippo/DHL Germany" and label.format == "pdf"
    assert label.tracking_number.startswith("SHIPPO")
    assert label.tracking_url.endswith(label.tracking_number)
    assert label.content.startswith(b"%PDF") and label.tracking_number.encode() in label.content


def test_cheapest_by_default_and_zpl_labels(server: FakeShippoServer) -> None:
    c = carrier(server, label_format="zpl")
    try:
        label = c.buy_label(request())
    finally:
        c.close()
    (tx_call,) = server.requests("POST", "/transactions/")
    assert server.rates[tx_call.body["rate"]]["provider"] == "Deutsche Post"
    assert tx_call.body["label_file_type"] == "ZPLII"
    assert label.format == "zpl" and label.content.startswith(b"^XA")


def test_what_shippo_refuses_is_a_carrier_error(server: FakeShippoServer) -> None:
    c = carrier(server)
    try:
        with pytest.raises(CarrierError, match="no complete shipping address"):
            c.buy_label(request(ship_to=None))
        with pytest.raises(CarrierError, match="city"):
            c.buy_label(request(ship_from_address=FROM.__class__(lines=("X 1",), country="DE")))
        for other, message in (
            (carrier(server, service_level="ups_ground"), "No carrier offers ups_ground"),
            (ShippoCarrier("shippo_test_wrong", server.url), "Invalid token"),
        ):
            try:
                with pytest.raises(CarrierError, match=message):
                    other.buy_label(request())
            finally:
                other.close()
        assert server.requests("POST", "/transactions/") == []  # nothing was bought
        server.fail_next("POST", "/shipments/", 503, body={"detail": "busy"})
        with pytest.raises(RuntimeError, match="503"):  # transient: the activity retries
            c.buy_label(request())
    finally:
        c.close()


def test_webhook_signature_and_track_parsing() -> None:
    body = b'{"event": "track_updated"}'
    now = 1_800_000_000
    verify_webhook(body, secret="s3", signature=sign("s3", body, now), token=None, now=now)
    verify_webhook(body, secret="s3", signature=None, token="s3")
    for signature, token, at in (
        (sign("other", body, now), None, now),
        (sign("s3", body, now), None, now + 301),
        ("t=abc,v1=00", None, now),
        (None, "wrong", now),
        (None, None, now),
    ):
        with pytest.raises(SignatureError):
            verify_webhook(body, secret="s3", signature=signature, token=token, now=at)
    with pytest.raises(SignatureError, match="not configured"):
        verify_webhook(body, secret="", signature=None, token="")
    assert track_update({"event": "transaction_created", "data": {}}) is None
    with pytest.raises(ValueError):
        track_update({"event": "track_updated", "data": {"tracking_number": "X"}})
    update = track_update(
        {
            "event": "track_updated",
            "data": {
                "carrier": "dhl_germany",
                "tracking_number": "SHIPPO1",
                "tracking_status": {
                    "object_id": "abc",
                    "status": "weird",
                    "status_details": "",
                    "status_date": "2026-12-01T18:30:00Z",
                },
            },
        }
    )
    assert update is not None and update.status == "UNKNOWN" and update.event_key == "shippo:abc"
    assert update.status_date is not None and update.status_date.tzinfo is not None
