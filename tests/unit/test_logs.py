"""Logs are one JSON event per line and carry the ids passed as extra fields."""

from __future__ import annotations

import json
import logging

from tillflow.logs import JsonFormatter


def test_json_event_with_ids() -> None:
    record = logging.LogRecord("tillflow.api", logging.INFO, __file__, 1, "sale answered", (), None)
    record.sale_id = "BER1-000007"
    record.workflow_id = "sale:BER1:abc"
    record.temporal_workflow = {"workflow_id": "sale:BER1:abc", "run_id": "r1"}
    line = JsonFormatter().format(record)
    assert "\n" not in line
    event = json.loads(line)
    assert event["event"] == "sale answered" and event["level"] == "info"
    assert event["sale_id"] == "BER1-000007" and event["workflow_id"] == "sale:BER1:abc"
    assert event["temporal_workflow"]["run_id"] == "r1"
