"""CPU the payload cipher adds per Temporal payload, next to the JSON conversion it follows.

    .venv/bin/python bench/payload_codec.py [--iterations 20000] [--rounds 5]

For a typical till sale's workflow input (SaleRequest) and its answer (SaleResult), measured in the
same run: our JSON payload converter (to and from a payload), then the AES-256-GCM cipher of
`tillflow/payloads.py` (encrypt and decrypt the same payload). Prints µs of CPU per payload (the
median of the rounds), the cipher's cost as a ratio to the JSON conversion, and the payload sizes.
Every payload of a workflow, activity, update or query is encoded once and decoded once this way.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from temporalio.api.common.v1 import Payload

from contracts.sale import (
    BasketLine,
    GiftCardLine,
    IssuedGiftCard,
    SaleLine,
    SaleRequest,
    SaleResult,
    TenderIn,
    TenderOut,
)
from tillflow.payloads import DATA_CONVERTER, PayloadCipher

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def sale_request() -> SaleRequest:
    """Three lines, cash and a gift card, one gift card sold: a busy but ordinary basket."""
    return SaleRequest(
        till_code="BER1",
        client_sale_id="8f0c2a1d9b7e4c55",
        cashier_id=7,
        lines=tuple(BasketLine(sku=f"SKU-{i:04d}", quantity=i) for i in (1, 2, 3)),
        tenders=(
            TenderIn(kind="cash", amount=2000),
            TenderIn(kind="gift_card", amount=1470, reference="ABCD-EFGH-JKLM-NP23"),
        ),
        gift_cards=(GiftCardLine(amount=2500),),
        customer_id=1042,
    )


def sale_result() -> SaleResult:
    lines = tuple(
        SaleLine(i, f"SKU-{i:04d}", f"Stoneware mug {i}", i, 990, 832, 158, 990 * i, "std", 1900)
        for i in (1, 2, 3)
    )
    return SaleResult(
        sale_id="BER1-000042",
        workflow_id="sale:BER1:8f0c2a1d9b7e4c55",
        status="completed",
        currency="EUR",
        lines=lines,
        subtotal=4992,
        tax_total=948,
        total=5940,
        tenders=(
            TenderOut(kind="cash", amount=3470, tendered=3500),
            TenderOut(
                kind="gift_card", amount=2470, tendered=2470, reference="ABCD-EFGH-JKLM-NP23"
            ),
        ),
        change_due=30,
        warnings=(),
        sold_at=NOW,
        gift_cards=(IssuedGiftCard(code="QRST-UVWX-YZ23-4567", amount=2500, balance=2500),),
    )


def cpu_us(fn: Callable[[], Any], iterations: int) -> float:
    start = time.process_time_ns()
    for _ in range(iterations):
        fn()
    return (time.process_time_ns() - start) / iterations / 1000


def measure(value: Any, hint: type, cipher: PayloadCipher, iterations: int) -> dict[str, float]:
    conv = DATA_CONVERTER.payload_converter
    (plain,) = conv.to_payloads([value])
    (sealed,) = cipher.encrypt([plain])
    return {
        "to JSON": cpu_us(lambda: conv.to_payloads([value]), iterations),
        "from JSON": cpu_us(lambda: conv.from_payloads([plain], [hint]), iterations),
        "encrypt": cpu_us(lambda: cipher.encrypt([plain]), iterations),
        "decrypt": cpu_us(lambda: cipher.decrypt([sealed]), iterations),
        "plain bytes": float(len(plain.SerializeToString())),
        "sealed bytes": float(len(sealed.SerializeToString())),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=20000, help="per measurement")
    parser.add_argument("--rounds", type=int, default=5, help="the median of these is shown")
    args = parser.parse_args()
    cipher = PayloadCipher(os.urandom(32))
    assert cipher.decrypt(cipher.encrypt([Payload(data=b"x")])) == [Payload(data=b"x")]
    print(
        "payload cipher: AES-256-GCM,",
        platform.python_implementation(),
        platform.python_version(),
    )
    print(
        f"{args.rounds} rounds × {args.iterations} payloads each; µs of CPU per payload (median)\n"
    )
    header = f"{'payload':<12} {'to JSON':>8} {'from JSON':>10} {'JSON':>7} "
    header += f"{'encrypt':>8} {'decrypt':>8} {'cipher':>7} {'ratio':>7} {'bytes':>11}"
    print(header)
    for name, value, hint in (
        ("SaleRequest", sale_request(), SaleRequest),
        ("SaleResult", sale_result(), SaleResult),
    ):
        runs = [measure(value, hint, cipher, args.iterations) for _ in range(args.rounds)]
        m = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        json_us = m["to JSON"] + m["from JSON"]
        cipher_us = m["encrypt"] + m["decrypt"]
        print(
            f"{name:<12} {m['to JSON']:>8.1f} {m['from JSON']:>10.1f} {json_us:>7.1f} "
            f"{m['encrypt']:>8.1f} {m['decrypt']:>8.1f} {cipher_us:>7.1f} "
            f"{cipher_us / json_us:>6.2f}× {int(m['plain bytes']):>5}→{int(m['sealed bytes']):<5}"
        )
    print(
        "\nJSON = to + from (the converter's round trip); cipher = encrypt + decrypt; ratio = "
        "cipher / JSON."
    )


if __name__ == "__main__":
    main()
