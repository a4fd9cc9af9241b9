"""The botfakes fixture's teardown check: an internal error or an unsupported call fails the test,
unless the test says it expects it (like pytest-httpserver's check_assertions)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from botfakes.fakes.control import journal
from botfakes.fakes.pytest_plugin import check_assertions



@pytest.fixture
def fakes(botfakes):
    """The runtime with no flag expected; afterwards every flag is, so the fixture's own
    teardown check does not fail these tests for what they provoked on purpose."""
    botfakes.expected_flags = set()
    yield botfakes
    botfakes.expect()


def unsupported_call(runtime, token: str) -> None:
    url = f"{runtime.url('botapi')}/bot{token}/getMeNot"
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(url, timeout=10)
    assert json.loads(err.value.read())["description"] == "Not Found: method not found"


def internal_error(runtime) -> None:
    """A fake's own bug: an exception inside the plane's passage of a request."""

    async def broken() -> None:
        plane = runtime.plane
        try:
            async with plane.request("botapi", "botapi#test", "getMe", {}):
                raise RuntimeError("a bug of the fake's own")
        except RuntimeError:
            pass

    runtime.call(broken)


def test_an_unsupported_call_fails_the_test(fakes, botapi):
    botfakes = fakes
    unsupported_call(botfakes, botapi.new_bot())
    [event] = botfakes.control.journal(flag="unsupported")
    assert event["outcome"] == {"ok": False, "code": 404, "text": "Not Found: method not found",
                                "flag": "unsupported"}
    with pytest.raises(pytest.fail.Exception, match="unsupported: 404 Not Found: method not found"):
        check_assertions(botfakes)


def test_an_internal_error_fails_the_test(fakes):
    botfakes = fakes
    internal_error(botfakes)
    [event] = botfakes.control.journal(flag="internal_error")
    assert event["outcome"]["code"] == "exception"
    with pytest.raises(pytest.fail.Exception, match="internal_error: exception RuntimeError"):
        check_assertions(botfakes)


def test_an_expected_flag_passes_and_only_that_one(fakes, botapi):
    botfakes = fakes
    botfakes.expect("unsupported")
    unsupported_call(botfakes, botapi.new_bot())
    check_assertions(botfakes)  # expected: passes
    internal_error(botfakes)
    with pytest.raises(pytest.fail.Exception, match="internal_error"):
        check_assertions(botfakes)  # not expected: fails
    with pytest.raises(ValueError, match="unknown flag"):
        botfakes.expect("typo")


@pytest.mark.botfakes_expect("internal_error")
def test_the_marker_names_what_is_expected(botfakes):
    assert botfakes.expected_flags == {"internal_error"}


def test_a_clean_test_passes(fakes, botapi):
    botfakes = fakes
    token = botapi.new_bot()
    with urllib.request.urlopen(f"{botfakes.url('botapi')}/bot{token}/getMe", timeout=10) as resp:
        assert json.loads(resp.read())["ok"]
    check_assertions(botfakes)
    assert set(journal.FLAGS) == {"internal_error", "unsupported"}
