"""Telling a web store about its order (status, tracking) and refunding through it; regular
activities.

A store that is busy (429 with Retry-After) or down (5xx, network) is retried with backoff; one that
refuses (4xx) is not, and the caller records why.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from temporalio import activity
from temporalio.exceptions import ApplicationError

from contracts.errors import encode_errors
from contracts.online import StatusNotice, StoreRefundRequest, StoreRefundResult
from integrations.storefront import Storefront, StorefrontError, StorefrontUnavailable, Tracking


def unavailable(err: StorefrontUnavailable) -> ApplicationError:
    """Retryable; a 429's Retry-After becomes the delay before the next attempt."""
    delay = timedelta(seconds=err.retry_after) if err.retry_after is not None else None
    return ApplicationError(str(err), type="StoreUnavailable", next_retry_delay=delay)


def refused(err: StorefrontError) -> ApplicationError:
    return ApplicationError(str(err), type="StoreRefused", non_retryable=True)


@encode_errors
class WebStoreNoticeActivities:
    """Order status and refunds out to Shopify / WooCommerce through the Storefront adapters."""

    def __init__(self, storefronts: Callable[[str], Storefront | None]) -> None:
        self.storefronts = storefronts

    @activity.defn(name="webstore.update_order_status")
    def update_order_status(self, n: StatusNotice) -> bool:
        """Tell the web store the order's status (and tracking); False when it has no adapter."""
        store = self.storefronts(n.store_code)
        if store is None:
            return False
        tracking = (
            Tracking(n.tracking_number, n.carrier, n.tracking_url) if n.tracking_number else None
        )
        try:
            store.update_order_status(n.order_external_id, n.status, tracking=tracking, key=n.key)
        except StorefrontUnavailable as err:
            raise unavailable(err) from err
        except StorefrontError as err:
            raise refused(err) from err
        return True

    @activity.defn(name="webstore.refund")
    def refund(self, r: StoreRefundRequest) -> StoreRefundResult:
        """Refund through the web store's own payment, once per key (used by cancellations and
        returns)."""
        store = self.storefronts(r.store_code)
        if store is None:
            raise ApplicationError(
                f"Web store {r.store_code} has no adapter to refund through.",
                type="StoreRefused",
                non_retryable=True,
            )
        try:
            done = store.refund(
                r.order_external_id, r.amount, r.lines, r.key, currency=r.currency, reason=r.reason
            )
        except StorefrontUnavailable as err:
            raise unavailable(err) from err
        except StorefrontError as err:
            raise refused(err) from err
        return StoreRefundResult(refund_id=done.id, amount=done.amount, created=done.created)
