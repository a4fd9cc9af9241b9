"""A user's own bot, from its own folder, with only its TOML (tests/integration/scenarios/userbot):
its own variable names through {placeholders}, readiness by an output line, --ignore."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

USERBOT = Path(__file__).parent / "userbot"


@pytest.fixture
def repo(tmp_path):
    """The bot's own repository: its code and bot.toml, nothing of botfakes."""
    folder = tmp_path / "echobot-repo"
    shutil.copytree(USERBOT, folder)
    return folder


def run(repo, *args):
    return subprocess.run([sys.executable, "-m", "botfakes", "run", "--bot-spec", "bot.toml", *args],
                          capture_output=True, text=True, timeout=600, cwd=repo)


def test_the_correct_bot_passes_from_its_own_folder(repo):
    result = run(repo, "-k", "two_instances or restart or flood")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "echobot: 0 bug(s), 0 risk(s), 0 scenario error(s)" in result.stdout
    assert (repo / "botfakes-report" / "report.html").exists()  # reports land in the bot's folder


def test_the_same_bot_without_its_guard_has_the_seed_bug_and_ignore_accepts_it(repo):
    result = run(repo, "--bot-env", "GUARD=0", "-k", "two_instances")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "two-pollers (bug): 409 Conflict: terminated by other getUpdates request" in result.stdout
    assert "echobot                        two_instances_polling" in result.stdout  # progress line
    ignored = run(repo, "--bot-env", "GUARD=0", "-k", "two_instances", "--ignore", "two-pollers")
    assert ignored.returncode == 0, ignored.stdout + ignored.stderr
    assert "1 ignored" in ignored.stdout
