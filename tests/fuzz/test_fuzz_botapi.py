"""Hostile requests against the fake Bot API: never a 5xx, never a traceback, always the real
envelope in strict JSON (or the bare status line tdlib's HTTP reader answers what it refuses
with), and the fake answers getMe right after each one."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from .conftest import examples, long_run
from .strategies import botapi_requests
from .support import botapi_alive, build_request, check_botapi_envelope, http_call, http_exchange, port_of

READY = "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"  # the fake's ready bot: the liveness probe
PLACEHOLDER = "@@TOKEN@@"
FUZZ = settings(max_examples=examples(30), deadline=None, derandomize=not long_run(), database=None,
                suppress_health_check=list(HealthCheck))


def test_hostile_bot_api_requests(fakes, no_tracebacks, fuzz_report):
    port = port_of(fakes.url("botapi"))
    fakes.control.botapi.configure(rate_limits={"enabled": False})
    # the hostile requests use a bot of their own: logOut and close are fair game for them
    state = {"token": fakes.control.botapi.new_bot()}

    @FUZZ
    @given(request=botapi_requests(PLACEHOLDER))
    def one(request):
        fuzz_report.example()
        http_method, target, headers, body = request
        target = target.replace(PLACEHOLDER, state["token"])
        answer = http_exchange(port, build_request(http_method, target, headers, body))
        assert answer is not None, "the fake closed the connection without an answer"
        if http_method != "HEAD":
            check_botapi_envelope(answer)
        botapi_alive(port, READY)
        me = http_call(port, "GET", f"/bot{state['token']}/getMe")
        if me.status == 401:  # logged out or closed by the example: a fresh bot for the next
            state["token"] = fakes.control.botapi.new_bot()
        found = no_tracebacks.take()
        assert not found, found

    one()
