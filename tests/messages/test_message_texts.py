"""The message texts (domain/messages.py): a store's language from its country, every kind in every
language with the same facts, the fall-backs, local times, the e-mail receipt, the backoff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain import messages as text


def test_language_comes_from_the_country() -> None:
    assert text.language_for("DE") == "de"
    assert text.language_for("at") == "de"
    assert text.language_for("PT") == "pt"
    assert text.language_for("BR") == "pt"
    assert text.language_for("US") == "en"
    assert text.language_for(None) == "en"
    assert text.language_for("") == "en"


@pytest.mark.parametrize("kind", sorted(text.TEMPLATES))
def test_every_language_says_what_english_says(kind: str) -> None:
    by_language = text.TEMPLATES[kind]
    assert set(by_language) == set(text.LANGUAGES)
    english = by_language["en"]
    for language, tpl in by_language.items():
        for part in ("subject", "text", "sms"):
            assert text.placeholders(getattr(tpl, part)) == text.placeholders(
                getattr(english, part)
            ), (kind, language, part)


def test_pickup_code_in_german_with_the_local_deadline() -> None:
    at = datetime(2026, 12, 5, 17, 0, tzinfo=UTC)
    out = text.render(
        "ready_for_pickup",
        "de",
        {
            "order": "W1",
            "store": "Laden Mitte",
            "address": "Straße 1",
            "code": "123456",
            "deadline": text.local_time(at, "Europe/Berlin", "de"),
            "hours": "always open",
        },
    )
    assert out.language == "de"
    assert out.subject == "Ihre Bestellung W1 liegt zur Abholung bei Laden Mitte bereit"
    assert "Ihr Abholcode: 123456" in out.text
    assert "Sa, 05.12. 18:00 Uhr" in out.text  # 17:00 UTC is 18:00 in Berlin
    assert out.text.startswith("Hallo liebe Kundin, lieber Kunde,")
    assert "123456" in out.sms


def test_local_times_per_language() -> None:
    at = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
    assert text.local_time(at, "Europe/Lisbon", "pt") == "seg, 07/12 09:30"
    assert text.local_time(at, "America/New_York", "en") == "Mon 07 Dec 04:30"


def test_a_kind_without_templates_goes_out_as_its_workflow_wrote_it() -> None:
    out = text.render("custom_kind", "de", {}, fallback_subject="Hi", fallback_body="Body")
    assert (out.language, out.subject, out.text) == ("en", "Hi", "Body")


def test_missing_facts_leave_blanks_not_errors() -> None:
    out = text.render("shipped", "pt", {"order": "W2"})
    assert out.subject == "A sua encomenda W2 está a caminho"
    assert "Olá cliente," in out.text


def test_receipt_body_lists_lines_totals_and_tenders() -> None:
    body = text.receipt_body(
        text.ReceiptText(
            number="BER1-000042",
            store_name="Laden Mitte",
            store_address="Straße 1",
            sold_at_local="2026-12-01 10:15",
            currency="EUR",
            lines=[text.ReceiptLineText(name="Notebook A5", quantity=2, line_total=798)],
            subtotal=671,
            tax_total=127,
            total=798,
            tenders=[text.ReceiptTenderText(kind="cash", amount=1000)],
            change_due=202,
        ),
        "de",
    )
    lines = body.splitlines()
    assert lines[0] == "Beleg BER1-000042"
    assert any(ln.startswith("2 x Notebook A5") and ln.endswith("€7.98") for ln in lines)
    assert any(ln.startswith("Summe") and ln.endswith("€7.98") for ln in lines)
    assert any(ln.startswith("Rückgeld") and ln.endswith("€2.02") for ln in lines)


def test_backoff_doubles_up_to_the_cap() -> None:
    waits = [text.backoff(n, base_s=30, cap_s=200) for n in range(1, 6)]
    assert waits == [timedelta(seconds=s) for s in (30, 60, 120, 200, 200)]
