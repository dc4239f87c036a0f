"""A pickup code is the customer's: it is in their "ready" message and nowhere else in the clear —
not on the board, the task list, the staff's answers, the logs, nor in the Bopis workflow's
history."""

from __future__ import annotations

import re

from helpers.log_capture import every_logger_at_debug, logged
from helpers.webstore import barcode_of, eventually, new_product
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest


def standing_alone(code: str) -> re.Pattern[str]:
    """The code as a token of its own (a JSON string, PU:{order}:{code}, words): not a digit run
    inside a longer number, id or timestamp, which six random digits would sometimes be."""
    return re.compile(rf"(?<![0-9A-Za-z.]){re.escape(code)}(?![0-9A-Za-z])")


async def test_pickup_code_is_only_in_the_customers_message(  # type: ignore[no-untyped-def]  # untyped pytest fixtures
    orders, fapi, db, finn, fulfilment_env, caplog
) -> None:
    with every_logger_at_debug(caplog):
        code = await _ready_and_handed_over(orders, fapi, db, finn, fulfilment_env)
    # Nothing logged from the order to the hand-over, at any level by any logger, holds the code.
    lines = logged(caplog)
    assert "/handover" in lines  # the capture heard the hand-over
    assert not standing_alone(code).search(lines)


async def _ready_and_handed_over(orders, fapi, db, finn, fulfilment_env) -> str:  # type: ignore[no-untyped-def]  # takes untyped fixture values
    """A pickup order picked (its code sent to the customer), a wrong code refused, then handed
    over with the right one; the code."""
    sku = new_product(db, {"BER": 2})
    wf = await orders.place([(sku, 1)], pickup="BER")
    number = await eventually(lambda: orders.number(wf))
    task = await orders.task("BER", wf, "pick", finn)
    picked = await fapi.post(
        f"/fulfilment/BER/tasks/{task['id']}/picked",
        headers=finn,
        json={"scans": [{"barcode": barcode_of(db, sku), "quantity": 1}]},
    )
    assert picked.status_code == 200 and picked.json()["phase"] == "ready", picked.text
    (ready,) = orders.notices(f"bopis:{wf}:BER", "ready_for_pickup")
    code = ready.data["code"]
    assert code in ready.body  # the customer's message has it

    wrong = "000000" if code != "000000" else "111111"
    refused = await fapi.post(
        f"/fulfilment/BER/pickups/{number}/handover", headers=finn, json={"code": wrong}
    )
    assert refused.status_code == 422, refused.text
    seen = [
        picked.text,
        refused.text,
        (await fapi.get("/fulfilment/BER/tasks", headers=finn)).text,
        (await fapi.get("/fulfilment/BER/board", headers=finn)).text,
        (await fapi.get("/fulfilment/BER/board.html", headers=finn)).text,
    ]
    assert all(code not in page for page in seen)

    client = fulfilment_env.client
    history = await client.workflow_service.get_workflow_execution_history(
        GetWorkflowExecutionHistoryRequest(
            namespace=client.namespace,
            execution=WorkflowExecution(workflow_id=f"bopis:{wf}:BER"),
        )
    )
    raw = history.history.SerializeToString()
    assert b"notices.send" in raw  # the ready message went through the history…
    assert f"PU:{number}:{code}".encode() not in raw and f'"{code}"'.encode() not in raw  # …sealed

    done = await fapi.post(
        f"/fulfilment/BER/pickups/{number}/handover", headers=finn, json={"code": code}
    )
    assert done.status_code == 200 and code not in done.text, done.text
    return str(code)
