"""Runs an example bot (examples/<name>) the way a user would: `botfakes run --bot-spec bot.toml`
from a copy of its folder outside this repository, and reads the verdicts back from the records.

Each example is copied to tmp_path (its node_modules, installed in the repo by `npm ci`, linked
into the copy), so the run proves that the bot needs nothing from the botfakes checkout but its
TOML. The venv's bin folder leads PATH, as it does for a user who activated the venv: the specs
say `python bot.py` and `uvicorn relay:app`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
RUN_TIMEOUT = 600  # a bound on a hung run, never what a verdict depends on


@dataclass
class ExampleRun:
    name: str
    exit_code: int
    records: dict[str, dict[str, Any]]  # scenario id -> verdict record
    output: str
    seconds: float

    def ran(self) -> dict[str, dict[str, Any]]:
        """The records of the scenarios that ran (not skipped)."""
        return {s: r for s, r in self.records.items() if r["outcome"] != "skipped"}

    def describe(self) -> str:
        return "\n".join(f"{s}: {r['outcome']} {r.get('bug')} {r.get('error')}"
                         for s, r in sorted(self.records.items())) + "\n--- output:\n" + self.output[-4000:]

    def assert_caught(self, scenario: str, bug: str, finding_class: str, text: str | tuple[str, ...]) -> None:
        """The scenario found `bug` (of `finding_class`), quoting `text` (or one of them) in its error."""
        record = self.records.get(scenario)
        assert record is not None, f"{scenario} did not run\n{self.describe()}"
        assert (record["outcome"], record["bug"]) == ("failed", bug), self.describe()
        assert record["finding_class"] == finding_class, self.describe()
        texts = (text,) if isinstance(text, str) else text
        assert any(t in record["error"] for t in texts), self.describe()

    def assert_all_passed(self, scenarios: set[str]) -> None:
        """Exactly these scenarios ran (the rest skipped for parts the bot lacks), all passed."""
        ran = self.ran()
        assert set(ran) == scenarios, self.describe()
        assert all(r["outcome"] == "passed" for r in ran.values()), self.describe()
        assert self.exit_code == 0, self.describe()


def _copy_example(name: str, dest: Path) -> Path:
    source = EXAMPLES / name
    folder = dest / name
    shutil.copytree(source, folder, ignore=shutil.ignore_patterns(
        "node_modules", "__pycache__", "botfakes-report", "*.session", "*.session-journal", "data"))
    if (source / "package.json").exists():
        if shutil.which("node") is None:
            pytest.skip("node is not installed")
        if not (source / "node_modules").is_dir():
            pytest.skip(f"examples/{name} is not installed: run `npm ci --prefix examples/{name}`")
        (folder / "node_modules").symlink_to(source / "node_modules", target_is_directory=True)
    return folder


@pytest.fixture
def run_example(tmp_path: Path, record_property):
    """run_example("ptb-polling-fixed", keyword="two_instances_polling") -> ExampleRun."""

    def run(name: str, keyword: str | None = None) -> ExampleRun:
        folder = _copy_example(name, tmp_path)
        report = tmp_path / "report"
        bin_dir = Path(sys.executable).parent
        cmd = [str(bin_dir / "botfakes"), "run", "--bot-spec", "bot.toml", "-n", "0", "-q",
               "--report-dir", str(report)]
        if keyword:
            cmd += ["-k", keyword]
        env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
        started = time.monotonic()
        proc = subprocess.run(cmd, cwd=folder, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=RUN_TIMEOUT)
        seconds = time.monotonic() - started
        records = {}
        for path in sorted((report / "records").glob("*.json")):
            record = json.loads(path.read_text())
            records[record["scenario"]] = record
        record_property("example_wall_s", round(seconds, 1))
        print(f"example {name}: botfakes run took {seconds:.1f} s, exit {proc.returncode}")
        return ExampleRun(name, proc.returncode, records, proc.stdout, seconds)

    return run

