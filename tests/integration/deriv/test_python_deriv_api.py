"""python-deriv-api (the official Python client), unmodified, against the fake.

It pins websockets==10.3, so it lives in a virtual environment of its own, which .ci/run makes:

    python3 -m venv .venv-deriv-api
    .venv-deriv-api/bin/pip install python-deriv-api==0.1.6

(or one pointed to by BOTFAKES_DERIV_API_PYTHON); without it this test is skipped.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
PYTHON = os.environ.get("BOTFAKES_DERIV_API_PYTHON", str(REPO / ".venv-deriv-api" / "bin" / "python"))
CLIENT = Path(__file__).with_name("python_deriv_api_client.py")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(PYTHON).exists(),
                       reason=f"no python-deriv-api environment at {PYTHON}"),
]


def test_python_deriv_api_routes_replies_released_in_reverse(deriv):
    account = deriv.create_account(balance=100)
    deriv.plane.add_gate(fake="deriv", method="ping", count=5, order="reverse")
    control_url = deriv.plane.url.removesuffix("/_control")
    done = subprocess.run([PYTHON, str(CLIENT), deriv.url, control_url, account["token"]],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    # each of the five concurrent pings got its own reply although they came back reversed
    assert out["pings"] == [["ping", i, "pong"] for i in range(1, 6)]
    sent = [e["data"]["messages"][0]["req_id"]
            for e in deriv.plane.journal(fake="deriv", kind="response", method="ping")]
    assert sent == [5, 4, 3, 2, 1]
    assert out["loginid"] == account["loginid"] and out["balance"] == 100
    assert len(out["ticks"]) == 3 and out["ticks"] == sorted(out["ticks"])
    assert out["balance_after"] == 90
    assert out["error"] == ["InvalidSymbol", "Symbol NOPE invalid.", "history"]
