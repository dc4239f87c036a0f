"""Bearer secrets: the one masking rule, where the fulfilment views apply it, the payload cipher
(AES-GCM, two keys for rotation) and the settings that refuse the public key in production."""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr, ValidationError
from temporalio.api.common.v1 import Payload

from api.fulfilment import task_out
from db.repositories.fulfilment import TaskLine, TaskView
from domain.secrets import mask
from tillflow.payloads import ENCRYPTED, KEY_ID, PayloadCipher, key_id
from tillflow.settings import LOCAL_PAYLOAD_KEY, Settings


def new_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def secret(value: str) -> SecretStr:
    return SecretStr(value)


def test_mask_keeps_the_last_four_of_a_gift_card_code_and_its_groups() -> None:
    assert mask("ABCD-EFGH-JKLM-AB12") == "••••-••••-••••-AB12"
    assert mask("ABCDEFGHJKLMNPQR") == "••••••••••••NPQR"


def test_mask_shows_at_most_a_quarter_of_a_short_code() -> None:
    assert mask("123456") == "•••••6"  # a pickup code: 5 of its 6 digits stay hidden
    assert mask("123") == "•••"
    assert mask("") == ""


def test_fulfilment_task_details_that_hold_a_code_are_masked() -> None:
    now = datetime.now(UTC)
    task = TaskView(
        id=1,
        location_id=1,
        kind="handover",
        status="open",
        outcome="",
        workflow_id="bopis:order:web:1:BER",
        order_workflow_id="order:web:1",
        order_number="WEB-1",
        customer_name="Kim",
        lines=(TaskLine(sku="MUG", quantity=1),),
        assignee_id=None,
        assignee_name="",
        created_at=now,
        due_at=now,
        claimed_at=None,
        done_at=None,
        escalated_at=None,
        curbside_bay=None,
        arrived_at=None,
        detail={"code": "482913", "barcode": "PU:WEB-1:482913", "deadline": "Mon 10:00"},
    )
    shown = task_out(task, now).detail
    assert shown == {"code": "•••••3", "barcode": "••••••-•••••913", "deadline": "Mon 10:00"}
    assert "482913" not in repr(task_out(task, now).model_dump())


def test_cipher_round_trip_hides_the_plaintext() -> None:
    cipher = PayloadCipher(base64.b64decode(new_key()))
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'{"code":"ABCD-EFGH-JKLM-AB12"}')
    (sealed,) = cipher.encrypt([plain])
    assert sealed.metadata["encoding"] == ENCRYPTED
    assert sealed.metadata[KEY_ID] == cipher.current_id.encode()
    assert b"ABCD" not in sealed.SerializeToString() and b"json/plain" not in sealed.data
    assert cipher.decrypt([sealed]) == [plain]
    # Payloads from before encryption pass as they are.
    assert cipher.decrypt([plain]) == [plain]


def test_cipher_rotation_reads_the_previous_key_and_writes_the_current() -> None:
    old, new = base64.b64decode(new_key()), base64.b64decode(new_key())
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'"hello"')
    (by_old,) = PayloadCipher(old).encrypt([plain])
    rotated = PayloadCipher(new, previous=old)
    assert rotated.decrypt([by_old]) == [plain]
    (by_new,) = rotated.encrypt([plain])
    assert by_new.metadata[KEY_ID] == key_id(new).encode()
    with pytest.raises(ValueError, match="neither TILLFLOW_PAYLOAD_KEY"):
        PayloadCipher(new).decrypt([by_old])  # the old key retired too early
    tampered = Payload(
        metadata=by_new.metadata, data=by_new.data[:-1] + bytes([by_new.data[-1] ^ 1])
    )
    with pytest.raises(ValueError, match="integrity"):
        rotated.decrypt([tampered])


def test_production_refuses_the_public_payload_key() -> None:
    with pytest.raises(ValidationError, match="public local default"):
        Settings(env="production")
    with pytest.raises(ValidationError, match="public local default"):
        Settings(
            env="production",
            payload_key=secret(new_key()),
            payload_previous_key=secret(LOCAL_PAYLOAD_KEY),
        )
    own = Settings(  # everything else production asks for set too (tests/deploy checks those)
        env="production",
        payload_key=secret(new_key()),
        database_url="postgresql://tillflow:pw@postgres:5432/tillflow",
        temporal_address="temporal:7233",
        stripe_api_key="sk_live_" + "x" * 24,
        stripe_webhook_secret="whsec_" + "y" * 32,
    )
    assert own.payload_key.get_secret_value() != LOCAL_PAYLOAD_KEY
    assert Settings().payload_key.get_secret_value() == LOCAL_PAYLOAD_KEY  # local default works
    with pytest.raises(ValidationError, match="32 bytes"):
        Settings(payload_key=secret(base64.b64encode(b"short").decode()))
    with pytest.raises(ValidationError, match="base64"):
        Settings(payload_key=secret("not base64 at all!"))
