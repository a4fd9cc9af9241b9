"""The environment contract: default variables, placeholders, export lines (botfakes.testing.env)."""

import shlex

import pytest

from botfakes.testing.env import (PLACEHOLDERS, Contract, UnknownPlaceholder, bot_environment,
                                  check_placeholders, default_variables, export_lines,
                                  placeholder_values, resolve)

CONTRACT = Contract(bot_token="1:AA", api_root="http://127.0.0.1:8081", port=9000, webhook=True,
                    webhook_secret="s3cret", data_dir="/tmp/d", mtproto_session="1Abc",
                    mtproto_host="127.0.0.1", mtproto_port=8443, mtproto_dc_id=2, channels=("a", "b"),
                    deriv_url="ws://127.0.0.1:8083", deriv_token="tok")


def test_default_variables():
    env = default_variables(CONTRACT)
    assert env == {
        "TELEGRAM_BOT_TOKEN": "1:AA", "TELEGRAM_API_BASE_URL": "http://127.0.0.1:8081",
        "USE_WEBHOOK": "true", "WEBHOOK_URL": "http://127.0.0.1:9000", "WEBHOOK_PATH": "/webhook",
        "WEBHOOK_SECRET": "s3cret", "PORT": "9000", "HOST": "127.0.0.1", "DATA_DIR": "/tmp/d",
        "TELEGRAM_API_ID": "611335", "TELEGRAM_API_HASH": "d524b414d21f4d37f08684c1df41ac9c",
        "TELETHON_SESSION": "1Abc", "TRENDING_CHANNELS": "a,b",
        "DERIV_WS_URL": "ws://127.0.0.1:8083/websockets/v3", "DERIV_APP_ID": "1089",
        "DERIV_API_TOKEN": "tok",
    }
    # WEBHOOK_URL is an origin: the bot adds WEBHOOK_PATH itself.
    assert "/webhook" not in env["WEBHOOK_URL"]


def test_every_placeholder_has_a_value():
    values = placeholder_values(CONTRACT)
    assert set(values) == set(PLACEHOLDERS)
    assert values["telegram.base_url"] == "http://127.0.0.1:8081/bot"
    assert values["telegram.webhook_url"] == "http://127.0.0.1:9000"
    assert values["deriv.endpoint"] == "ws://127.0.0.1:8083/websockets/v3?app_id=1089"
    assert values["deriv.url"] == "ws://127.0.0.1:8083" and values["mtproto.port"] == "8443"


def test_resolve_and_escapes():
    values = placeholder_values(CONTRACT)
    assert resolve("{telegram.api_root}/bot{telegram.token}", values) == "http://127.0.0.1:8081/bot1:AA"
    assert resolve("{{literal}} { port }", values) == "{literal} 9000"
    with pytest.raises(UnknownPlaceholder, match=r"bot.env.X: unknown placeholder \{nope\}"):
        resolve("{nope}", values, where="bot.env.X")
    check_placeholders("{port} {{x}}", "here")
    with pytest.raises(UnknownPlaceholder, match="here: unknown placeholder"):
        check_placeholders("{symbol}", "here")


def test_bot_environment_drops_inherited_contract_variables():
    base = {"PATH": "/bin", "TELEGRAM_BOT_TOKEN": "real-token", "DERIV_API_TOKEN": "real",
            "TELETHON_SESSION": "real", "WEBHOOK_SECRET": "real"}
    env = bot_environment(Contract(bot_token="1:AA", api_root="http://x"), {"BOT_TOKEN": "{telegram.token}"}, base)
    assert env["PATH"] == "/bin" and env["TELEGRAM_BOT_TOKEN"] == "1:AA" and env["BOT_TOKEN"] == "1:AA"
    assert "DERIV_API_TOKEN" not in env and "TELETHON_SESSION" not in env and "WEBHOOK_SECRET" not in env
    assert env["PYTHONUNBUFFERED"] == "1"


def test_export_lines_round_trip_through_a_shell_parser():
    text = export_lines({"A": "it's", "B": "x y"})
    assert [shlex.split(line) for line in text.splitlines()] == [["export", "A=it's"], ["export", "B=x y"]]
    assert export_lines({"A": "1"}, "dotenv") == "A=1\n"
