"""benchmarks/run_all.py, the one benchmark command: a smoke run completes and prints its table.

Never a timed assertion: only that the run finishes, prints the table with real figures next to
their references, and writes the same rows as JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]


def test_run_all_quick_prints_the_table(tmp_path):
    out = tmp_path / "figures.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run_all.py"), "--quick",
                           "--only", "webhook,run", "--json", str(out)],
                          capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "figure" in proc.stdout and "reference (same run)" in proc.stdout
    rows = json.loads(out.read_text())
    webhook = [r for r in rows if r["figure"].startswith("webhook deliveries")]
    assert len(webhook) == 2 and all(r["value"].endswith(" /s") and r["ratio"].endswith("%") for r in webhook), rows
    assert all(r["figure"] in proc.stdout for r in rows)
    assert rows[-1] == {"figure": "`botfakes run` (bundled bots, every scenario)", "value": "skipped",
                        "reference": "--quick", "ratio": ""}
