"""Task queues and search attributes shared by every subsystem's workflows."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

SALES_TASK_QUEUE = "tillflow-sales"  # Sale, Return, OfflineReplay, Reprint (a worker in the API)
CENTRAL_TASK_QUEUE = "tillflow-central"
WEB_TASK_QUEUE = "tillflow-web"  # OnlineOrder, Cart, StockSync and their activities
FULFILMENT_TASK_QUEUE = "tillflow-fulfilment"  # Bopis and ShipFromStore (the fulfilment worker)

# Search attributes registered on the Temporal namespace so ops can filter in the UI.
SA_STORE = "TillflowStore"
SA_TILL = "TillflowTill"
SA_CHANNEL = "TillflowChannel"
SA_ORDER = "TillflowOrder"
SEARCH_ATTRIBUTES = (SA_STORE, SA_TILL, SA_CHANNEL, SA_ORDER)
STORE_KEY, TILL_KEY, CHANNEL_KEY, ORDER_KEY = (
    SearchAttributeKey.for_keyword(name) for name in SEARCH_ATTRIBUTES
)
SEARCH_ATTRIBUTE_KEYS = (STORE_KEY, TILL_KEY, CHANNEL_KEY, ORDER_KEY)


def search_attributes(
    *, store: str = "", till: str = "", channel: str = "", order: str = ""
) -> TypedSearchAttributes:
    """The attributes ops filter a workflow by in the Temporal UI; empty ones are left out."""
    values = zip(SEARCH_ATTRIBUTE_KEYS, (store, till, channel, order), strict=True)
    return TypedSearchAttributes([SearchAttributePair(k, v) for k, v in values if v])
