import asyncio, os, time, uuid
import psutil
import pytest
from sqlalchemy import func, select
from db.models import Order
from domain.online_orders import ExternalLine, ExternalOrder
from workflows.online_contracts import OnlineOrderRequest
from workflows.online_order import OnlineOrderWorkflow
from helpers.webstore import connect, new_product
from workflows.contracts import WEB_TASK_QUEUE

pytestmark = pytest.mark.usefixtures("web_worker")

def procs():
    me = psutil.Process()
    out = {"pytest(worker+client)": me}
    for p in psutil.process_iter(["cmdline"]):
        c = " ".join(p.info["cmdline"] or [])
        if "start-dev" in c and p.pid in [c_.pid for c_ in me.children(recursive=True)]:
            out["temporal"] = p
    return out

async def test_profile(db, temporal_client):
    store = connect(db, "shopify")
    skus = [new_product(db, {"BER": 100, "WH1": 100}) for _ in range(20)]
    n = 300
    ps = procs()
    pg = [p for p in psutil.process_iter(["name"]) if p.info["name"] == "postgres"]
    before = {k: sum(p.cpu_times()[:2]) for k, p in ps.items()}
    pgb = sum(sum(p.cpu_times()[:2]) for p in pg if p.is_running())
    t0 = time.perf_counter()
    async def start(i):
        o = ExternalOrder(str(i), "#1", "EUR", (ExternalLine("1", skus[i % 20], 1, 1290, "x", 206, 1900),), 1290, country="DE")
        await temporal_client.start_workflow(OnlineOrderWorkflow.run, OnlineOrderRequest("shopify", store.code, o, 1),
                                             id=f"order:shopify:{store.code}:{i}", task_queue=WEB_TASK_QUEUE)
    await asyncio.gather(*[start(i) for i in range(n)])
    def done():
        with db.unit_of_work() as s:
            return s.scalar(select(func.count()).select_from(Order).where(Order.external_id.like(f"{store.code}:%"), Order.status == "fulfilling"))
    while done() < n:
        await asyncio.sleep(0.2)
    wall = time.perf_counter() - t0
    after = {k: sum(p.cpu_times()[:2]) for k, p in ps.items()}
    pga = sum(sum(p.cpu_times()[:2]) for p in pg if p.is_running())
    print(f"\n{n/wall:.1f}/s; CPU ms per order: " + ", ".join(f"{k} {(after[k]-before[k])/n*1000:.1f}" for k in ps) + f", postgres {(pga-pgb)/n*1000:.1f}")
