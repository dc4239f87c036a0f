"""Timeouts and retry policies shared by the workflows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.common import RetryPolicy

# Forward steps give up after a while so the till gets an answer; compensations never give up.
STEP: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=10),
    "schedule_to_close_timeout": timedelta(seconds=30),
}
COMPENSATION: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=10),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(seconds=30)),
}
# A printer that is off or out of paper retries quietly for a long time; the sale stands regardless.
DEVICE: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=30),
    "schedule_to_close_timeout": timedelta(hours=24),
    "heartbeat_timeout": timedelta(seconds=15),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=1),
    ),
}
# Provider round trips (capture): a few quick retries, then the saga decides.
NETWORK_STEP: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(seconds=5), maximum_attempts=10),
}
# A card at the reader: the customer has up to 90 s to tap; the activity heartbeats while waiting.
CARD: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=150),
    "heartbeat_timeout": timedelta(seconds=20),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(seconds=5), maximum_attempts=5),
}
