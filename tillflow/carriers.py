"""The carrier the fulfilment worker buys labels from (issue 19): Shippo when its API token is
set, else the local carrier."""

from __future__ import annotations

from integrations.carrier import Carrier, LocalCarrier
from integrations.shippo import ShippoCarrier
from tillflow.settings import Settings


def carrier_for(settings: Settings) -> Carrier:
    token = settings.shippo_api_token.get_secret_value() if settings.shippo_api_token else ""
    if not token:
        return LocalCarrier(label_format=settings.label_format)
    return ShippoCarrier(
        token,
        settings.shippo_base_url,
        label_format=settings.label_format,
        carrier_account=settings.shippo_carrier_account,
        service_level=settings.shippo_service_level,
        timeout_s=settings.shippo_timeout_s,
    )
