"""Run by test_python_deriv_api.py inside python-deriv-api's own virtual environment (the
library pins websockets==10.3, so it cannot share botfakes' environment). Prints one JSON line.

    python python_deriv_api_client.py ws://127.0.0.1:PORT http://127.0.0.1:CONTROL TOKEN
"""

import asyncio
import json
import sys
import urllib.request

from deriv_api import DerivAPI
from deriv_api.errors import ResponseError

URL, CONTROL, TOKEN = sys.argv[1:4]


def step(ticks: int) -> None:
    request = urllib.request.Request(
        f"{CONTROL}/_control/deriv/market/step", data=json.dumps({"ticks": ticks}).encode(),
        headers={"Content-Type": "application/json"}, method="POST")
    urllib.request.urlopen(request, timeout=10).read()


async def main() -> None:
    api = DerivAPI(app_id=1089, endpoint=URL)
    out: dict = {}
    # five calls in flight on one connection; the test's gate answers them in reverse order
    pings = await asyncio.gather(*(api.ping({"ping": 1}) for _ in range(5)))
    out["pings"] = [[p["msg_type"], p["req_id"], p["ping"]] for p in pings]
    out["loginid"] = (await api.authorize(TOKEN))["authorize"]["loginid"]
    out["balance"] = (await api.balance())["balance"]["balance"]
    source = await api.subscribe({"ticks": "R_50"})
    ticks: list = []
    three = asyncio.Event()

    def on_tick(message: dict) -> None:
        ticks.append(message["tick"]["epoch"])
        if len(ticks) == 3:
            three.set()

    source.subscribe(on_tick)
    await asyncio.to_thread(step, 2)  # the subscribe reply carried the first tick
    await asyncio.wait_for(three.wait(), 10)
    out["ticks"] = ticks
    bought = await api.buy({"buy": 1, "price": 10, "parameters": {
        "amount": 10, "basis": "stake", "contract_type": "CALL", "currency": "USD",
        "duration": 5, "duration_unit": "t", "symbol": "R_50"}})
    out["balance_after"] = bought["buy"]["balance_after"]
    try:
        await api.ticks_history({"ticks_history": "NOPE", "end": "latest"})
    except ResponseError as e:
        out["error"] = [e.code, e.message, e.msg_type]
    await api.clear()
    print(json.dumps(out))


asyncio.run(main())
