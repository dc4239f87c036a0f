"""Turning workflow and activity payloads back into our dataclasses, with each class's hints read
once.

Temporal's JSON converter calls `typing.get_type_hints` for every dataclass value it converts,
which evaluates every annotation again. A sale's payloads hold a few dozen dataclasses (lines,
tenders, the receipt), so that cost ~2 ms of CPU per payload, several payloads per sale. This
converter does the same conversion through Temporal's own extension point (`JSONTypeConverter`)
with the hints cached per class; the JSON on the wire is unchanged, so clients and workers with
and without it understand each other.

Every payload is then encrypted (`PayloadCipher`, AES-256-GCM with TILLFLOW_PAYLOAD_KEY) before it
leaves the process, and failure messages travel inside an encrypted payload too: the histories
Temporal keeps (and shows in its UI) hold no gift card code, pickup code, Stripe client secret,
PIN or token in the clear. Ops read them through the API's codec server (`api/routes/codec.py`).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import typing
from collections.abc import Sequence
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
    JSONTypeConverter,
    PayloadCodec,
    value_to_type,
)

from tillflow.settings import Settings, get_settings, payload_key_bytes


# Bounded: workflow modules re-imported in the sandbox define fresh classes on every run.
@functools.lru_cache(maxsize=1024)
def _fields(cls: type) -> tuple[tuple[str, Any, bool], ...]:
    hints = typing.get_type_hints(cls)
    return tuple((f.name, hints[f.name], f.init) for f in dataclasses.fields(cls))


class DataclassFromJSON(JSONTypeConverter):
    """A dataclass from its JSON object, as Temporal's default does, minus the repeated hint
    lookups."""

    def to_typed_value(self, hint: type, value: Any) -> Any:
        if not (
            isinstance(hint, type) and dataclasses.is_dataclass(hint) and isinstance(value, dict)
        ):
            return JSONTypeConverter.Unhandled
        given: dict[str, Any] = {}
        late: dict[
            str, Any
        ] = {}  # init=False fields are set after construction, as the default does
        for name, field_hint, init in _fields(hint):
            if name not in value:
                continue  # a missing required field fails in the constructor below
            try:
                converted = value_to_type(field_hint, value[name], CUSTOM_TYPES)
            except Exception as err:
                raise TypeError(f"Failed converting field {name} on dataclass {hint}") from err
            (given if init else late)[name] = converted
        obj = hint(**given)
        for name, converted in late.items():
            object.__setattr__(obj, name, converted)
        return obj


CUSTOM_TYPES: list[JSONTypeConverter] = [DataclassFromJSON()]


class PayloadConverter(CompositePayloadConverter):
    """Temporal's default payload converters, with the JSON one using `DataclassFromJSON`."""

    def __init__(self) -> None:
        super().__init__(
            *(
                JSONPlainPayloadConverter(custom_type_converters=CUSTOM_TYPES)
                if isinstance(c, JSONPlainPayloadConverter)
                else c
                for c in DefaultPayloadConverter.default_encoding_payload_converters
            )
        )


ENCRYPTED = b"binary/encrypted"
KEY_ID = "encryption-key-id"
_NONCE = 12  # bytes: AES-GCM's standard nonce, random per payload


def key_id(key: bytes) -> str:
    """A key's name in payload metadata: a digest, so the key itself never travels."""
    return hashlib.sha256(b"tillflow payload key\x00" + key).hexdigest()[:16]


class PayloadCipher(PayloadCodec):
    """AES-256-GCM over each whole payload (its metadata too): written with the current key, read
    with the current or the previous one, named by the key id in the metadata (rotation)."""

    def __init__(self, current: bytes, previous: bytes | None = None) -> None:
        self.current_id = key_id(current)
        self._current = AESGCM(current)
        self._keys = {self.current_id: self._current}
        if previous is not None:
            self._keys.setdefault(key_id(previous), AESGCM(previous))

    @staticmethod
    def from_settings(settings: Settings) -> PayloadCipher:
        previous = settings.payload_previous_key
        return _cipher(
            settings.payload_key.get_secret_value(),
            previous.get_secret_value() if previous is not None else None,
        )

    def encrypt(self, payloads: Sequence[Payload]) -> list[Payload]:
        kid = self.current_id.encode()
        out = []
        for p in payloads:
            nonce = os.urandom(_NONCE)
            sealed = self._current.encrypt(nonce, p.SerializeToString(), kid)
            out.append(Payload(metadata={"encoding": ENCRYPTED, KEY_ID: kid}, data=nonce + sealed))
        return out

    def decrypt(self, payloads: Sequence[Payload]) -> list[Payload]:
        out = []
        for p in payloads:
            if p.metadata.get("encoding") != ENCRYPTED:
                out.append(p)  # written before payloads were encrypted: still readable
                continue
            kid = p.metadata.get(KEY_ID, b"")
            aes = self._keys.get(kid.decode(errors="replace"))
            if aes is None:
                raise ValueError(
                    f"A payload is encrypted with key {kid.decode(errors='replace')!r}, which is "
                    "neither TILLFLOW_PAYLOAD_KEY nor TILLFLOW_PAYLOAD_PREVIOUS_KEY."
                )
            try:
                plain = aes.decrypt(p.data[:_NONCE], p.data[_NONCE:], kid)
            except InvalidTag:
                raise ValueError(
                    "A payload failed its integrity check (wrong key, or altered)."
                ) from None
            out.append(Payload.FromString(plain))
        return out

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return self.encrypt(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return self.decrypt(payloads)


@functools.lru_cache(maxsize=8)
def _cipher(current: str, previous: str | None) -> PayloadCipher:
    return PayloadCipher(
        payload_key_bytes(current), payload_key_bytes(previous) if previous else None
    )


class SettingsCipher(PayloadCodec):
    """The `PayloadCipher` of this process's settings, made at first use (importing this module
    reads no settings)."""

    def cipher(self) -> PayloadCipher:
        return PayloadCipher.from_settings(get_settings())

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return self.cipher().encrypt(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return self.cipher().decrypt(payloads)


def data_converter(codec: PayloadCodec) -> DataConverter:
    """Our payload converter, this codec, and failure messages carried in (encoded) payloads."""
    return dataclasses.replace(
        DataConverter.default,
        payload_converter_class=PayloadConverter,
        payload_codec=codec,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


# What every client and worker connects with (tillflow/temporal.py, the tests, the benchmarks).
DATA_CONVERTER = data_converter(SettingsCipher())
