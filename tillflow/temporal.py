"""Connecting to Temporal and registering tillflow's search attributes."""

from __future__ import annotations

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.service import TLSConfig

from contracts.common import SEARCH_ATTRIBUTE_KEYS, SEARCH_ATTRIBUTES  # noqa: F401  (re-exported)
from tillflow.payloads import DATA_CONVERTER


async def connect(
    address: str, namespace: str = "default", *, tls: TLSConfig | bool = False
) -> Client:
    """A client of the Temporal frontend; a till machine passes its client certificate (mTLS
    through the proxy, tillflow/temporal_tls.py)."""
    return await Client.connect(
        address, namespace=namespace, data_converter=DATA_CONVERTER, tls=tls
    )


async def ensure_search_attributes(client: Client) -> None:
    """Register the keyword attributes ops filter by (store, till, channel, order), once."""
    have = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace)
    )
    missing = {
        n: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
        for n in SEARCH_ATTRIBUTES
        if n not in have.custom_attributes
    }
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
        )
