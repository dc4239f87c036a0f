"""Turning workflow and activity payloads back into our dataclasses, with each class's hints read
once.

Temporal's JSON converter calls `typing.get_type_hints` for every dataclass value it converts,
which evaluates every annotation again. A sale's payloads hold a few dozen dataclasses (lines,
tenders, the receipt), so that cost ~2 ms of CPU per payload, several payloads per sale. This
converter does the same conversion through Temporal's own extension point (`JSONTypeConverter`)
with the hints cached per class; the JSON on the wire is unchanged, so clients and workers with
and without it understand each other.
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from typing import Any

from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
    JSONTypeConverter,
    value_to_type,
)


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


DATA_CONVERTER = dataclasses.replace(
    DataConverter.default, payload_converter_class=PayloadConverter
)
