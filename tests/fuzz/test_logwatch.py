"""The traceback watch: what fails a test, and what a client's malformed request does not."""

from __future__ import annotations

import logging

from aiohttp.http_exceptions import BadStatusLine

from botfakes.fakes.botapi.transport import HTTP_LOGGER
from botfakes.fakes.control.logwatch import watching
from botfakes.fakes.pytest_plugin import FAKE_LOGGERS


def _log_exception(logger: logging.Logger, exc: BaseException) -> None:
    try:
        raise exc
    except BaseException:
        logger.exception("Error handling request from %s", "127.0.0.1")


def test_a_fake_bug_is_caught(no_tracebacks):
    with watching(*FAKE_LOGGERS) as watch:
        _log_exception(HTTP_LOGGER, TypeError("a bug of the fake"))
        logging.getLogger("websockets.server").error("connection handler failed", exc_info=RuntimeError("x"))
    found = watch.take()
    assert [f.exception for f in found] == ["TypeError: a bug of the fake", "RuntimeError: x"]
    assert len(no_tracebacks.take()) == 2  # the suite's own watch saw them too (and forgets them)


def test_a_clients_malformed_request_is_not_a_traceback():
    with watching(*FAKE_LOGGERS) as watch:
        _log_exception(HTTP_LOGGER, BadStatusLine("GARBAGE"))  # answered 400: the client's error
        logging.getLogger("botfakes.deriv").info("a note without a traceback")
    assert watch.take() == []


def test_client_loggers_are_not_watched(no_tracebacks):
    with watching(*FAKE_LOGGERS) as watch:
        _log_exception(logging.getLogger("telethon.network.mtprotosender"), ConnectionError("closed"))
    assert watch.take() == []
    no_tracebacks.take()
