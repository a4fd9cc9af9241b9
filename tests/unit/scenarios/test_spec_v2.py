"""The bot spec v2 parser: every key, every error, before anything starts."""

from pathlib import Path

import pytest

from botfakes.scenarios.spec import (DEFAULT_TRIGGERS, BotSpec, Ready, SpecError, Trigger,
                                     spec_from_options)
from botfakes.testing.env import UnknownPlaceholder


def write(tmp_path: Path, text: str, name: str = "mybot.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


FULL = '''
[bot]
name = "ptb-polling-buggy"
command = ["python", "bot.py", "--fast"]
cwd = "src"
parts = ["polling", "webhook", "telethon", "deriv"]
probe = "/hello"
instances = 2

[bot.env]
BOT_TOKEN = "{telegram.token}"
API_ROOT = "{telegram.api_root}"
DEBUG = true
WORKERS = 2
LITERAL = "{{not a placeholder}}"

[bot.ready]
line = "Bot started"
timeout = 12.5

[bot.mtproto]
session = "gramjs"
triggers = ["GET /relay/latest", "/trending now"]

[bot.deriv]
request = "/quote {symbol}"
stream = "/follow {symbol}"
'''


def test_every_key(tmp_path):
    (tmp_path / "src").mkdir()
    spec = BotSpec.from_toml(write(tmp_path, FULL))
    assert spec.name == "ptb-polling-buggy"
    assert spec.command == ("python", "bot.py", "--fast")
    assert spec.cwd == (tmp_path / "src").resolve()
    assert spec.parts == {"polling", "webhook", "mtproto", "deriv"}  # telethon is mtproto's alias
    assert spec.has("telethon") and spec.has("mtproto")
    assert spec.probe == "/hello" and spec.instances == 2
    assert dict(spec.env) == {"BOT_TOKEN": "{telegram.token}", "API_ROOT": "{telegram.api_root}",
                              "DEBUG": "true", "WORKERS": "2", "LITERAL": "{{not a placeholder}}"}
    assert spec.ready == Ready(http=None, line="Bot started", timeout=12.5)
    assert spec.session == "gramjs"
    assert spec.triggers == (Trigger("GET /relay/latest"), Trigger("/trending now"))
    assert spec.triggers[0].is_http and spec.triggers[0].path == "/relay/latest"
    assert not spec.triggers[1].is_http
    assert spec.deriv_request == "/quote {symbol}" and spec.deriv_stream == "/follow {symbol}"


def test_v1_spec_keeps_its_defaults(tmp_path):
    spec = BotSpec.from_toml(write(tmp_path, '[bot]\ncommand = "python -m mybot"\n'))
    assert spec.name == "mybot" and spec.command == ("python", "-m", "mybot")
    assert spec.parts == {"polling", "webhook", "mtproto", "deriv"}
    assert spec.cwd is None  # the folder `botfakes run` starts in, filled in by the plugin
    assert spec.ready is None and spec.session is None and spec.probe == "/start"
    assert [t.text for t in spec.triggers] == list(DEFAULT_TRIGGERS)
    assert spec.deriv_request == "/price {symbol}" and spec.deriv_stream == "/watch {symbol}"


def test_http_readiness_and_telethon_table_alias(tmp_path):
    spec = BotSpec.from_toml(write(tmp_path, '[bot]\ncommand = "x"\n[bot.ready]\nhttp = "/health"\n'
                                             '[bot.telethon]\nsession = "telethon-file"\n'))
    assert spec.ready == Ready(http="/health") and spec.session == "telethon-file"


@pytest.mark.parametrize("body, message", [
    ("[other]\n", r"a \[bot\] table is required"),
    ('[bot]\ncommand = "x"\n[extra]\na = 1\n', r"unknown table\(s\) \['extra'\]"),
    ("[bot]\nname = 'x'\n", r"bot.command is required"),
    ("[bot]\ncommand = []\n", r"bot.command is required"),
    ("[bot]\ncommand = 3\n", r"bot.command is required"),
    ("[bot]\ncommand = ['python', 3]\n", r"bot.command is required"),
    ("[bot]\ncommand = 'python \"unclosed'\n", r"bot.command: No closing quotation"),
    ("[bot]\ncommand = 'x'\ncolour = 'red'\n", r"bot: unknown key\(s\) \['colour'\]"),
    ("[bot]\ncommand = 'x'\nname = 'my bot'\n", r"bot.name must be letters"),
    ("[bot]\ncommand = 'x'\ncwd = 'nowhere'\n", r"bot.cwd: 'nowhere' is not a folder"),
    ("[bot]\ncommand = 'x'\ncwd = 1\n", r"bot.cwd must be a folder path"),
    ("[bot]\ncommand = 'x'\nparts = ['pollin']\n", r"unknown part\(s\) \['pollin'\]"),
    ("[bot]\ncommand = 'x'\nparts = []\n", r"name at least one part"),
    ("[bot]\ncommand = 'x'\nparts = [1]\n", r"bot.parts must be a list"),
    ("[bot]\ncommand = 'x'\nprobe = 'start'\n", r"bot.probe must be a bot command starting with /"),
    ("[bot]\ncommand = 'x'\ninstances = 0\n", r"bot.instances must be a whole number >= 1"),
    ("[bot]\ncommand = 'x'\ninstances = true\n", r"bot.instances must be a whole number"),
    ("[bot]\ncommand = 'x'\nenv = 'A=1'\n", r"bot.env must be a table"),
    ("[bot]\ncommand = 'x'\n[bot.env]\n'1A' = 'x'\n", r"'1A' is not a variable name"),
    ("[bot]\ncommand = 'x'\n[bot.env]\nA = [1]\n", r"bot.env.A must be a string or a number"),
    ("[bot]\ncommand = 'x'\nready = 'yes'\n", r"bot.ready must be a table"),
    ("[bot]\ncommand = 'x'\n[bot.ready]\nhttp = '/h'\nline = 'x'\n", r"give http or line, not both"),
    ("[bot]\ncommand = 'x'\n[bot.ready]\nhttp = 'health'\n", r"bot.ready.http must be a path starting with /"),
    ("[bot]\ncommand = 'x'\n[bot.ready]\nline = '(unclosed'\n", r"bot.ready.line is not a valid regular expression"),
    ("[bot]\ncommand = 'x'\n[bot.ready]\nline = ''\n", r"bot.ready.line must be a regular expression"),
    ("[bot]\ncommand = 'x'\n[bot.ready]\nhttp = '/h'\ntimeout = 0\n", r"bot.ready.timeout must be a positive number"),
    ("[bot]\ncommand = 'x'\n[bot.ready]\nhttp = '/h'\ntimeout = 'soon'\n", r"bot.ready.timeout must be a positive"),
    ("[bot]\ncommand = 'x'\n[bot.ready]\nport = 1\n", r"bot.ready: unknown key\(s\) \['port'\]"),
    ("[bot]\ncommand = 'x'\nmtproto = 1\n", r"bot.mtproto must be a table"),
    ("[bot]\ncommand = 'x'\n[bot.mtproto]\nsession = 'tdlib'\n", r"bot.mtproto.session must be one of telethon, telethon-file, gramjs, pyrogram, pyrogram-file"),
    ("[bot]\ncommand = 'x'\n[bot.mtproto]\ntriggers = []\n", r"bot.mtproto.triggers must be a non-empty list"),
    ("[bot]\ncommand = 'x'\n[bot.mtproto]\ntriggers = 'GET /a'\n", r"bot.mtproto.triggers must be a non-empty list"),
    ("[bot]\ncommand = 'x'\n[bot.mtproto]\ntriggers = ['GET']\n", r"an HTTP trigger is \"GET /path\""),
    ("[bot]\ncommand = 'x'\n[bot.mtproto]\ntriggers = ['POST /a']\n", r"only GET requests are supported"),
    ("[bot]\ncommand = 'x'\n[bot.mtproto]\ntriggers = ['relay']\n", r"a trigger is \"GET /path\" \(HTTP on \$PORT\) or a bot command"),
    ("[bot]\ncommand = 'x'\n[bot.mtproto]\ntriggers = ['']\n", r"a trigger is a non-empty string"),
    ("[bot]\ncommand = 'x'\n[bot.mtproto]\nclient = 'x'\n", r"bot.mtproto: unknown key\(s\) \['client'\]"),
    ("[bot]\ncommand = 'x'\n[bot.mtproto]\n[bot.telethon]\n", r"not both"),
    ("[bot]\ncommand = 'x'\nderiv = 1\n", r"bot.deriv must be a table"),
    ("[bot]\ncommand = 'x'\n[bot.deriv]\nrequest = 'price {symbol}'\n", r"bot.deriv.request must be a bot command"),
    ("[bot]\ncommand = 'x'\n[bot.deriv]\nstream = '/watch R_50'\n", r"bot.deriv.stream: '/watch R_50' must contain \{symbol\}"),
    ("[bot]\ncommand = 'x'\n[bot.deriv]\nticks = '/t {symbol}'\n", r"bot.deriv: unknown key\(s\) \['ticks'\]"),
    ("[bot\ncommand = 'x'\n", r"not valid TOML"),
])
def test_every_error_names_the_file_and_key(tmp_path, body, message):
    path = write(tmp_path, body)
    with pytest.raises(SpecError, match=message) as info:
        BotSpec.from_toml(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("body, message", [
    ("[bot]\ncommand = 'x'\n[bot.env]\nTOKEN = '{telegram.tokn}'\n",
     r"bot.env.TOKEN: unknown placeholder \{telegram.tokn\}; known: \{telegram.token\}"),
    ("[bot]\ncommand = 'x'\n[bot.env]\nS = '{symbol}'\n", r"unknown placeholder \{symbol\}"),
    ("[bot]\ncommand = 'x'\n[bot.deriv]\nrequest = '/p {symbol} {coin}'\n", r"unknown placeholder \{coin\}"),
    ("[bot]\ncommand = 'x'\n[bot.mtproto]\ntriggers = ['GET /a?x={nope}']\n", r"unknown placeholder \{nope\}"),
])
def test_an_unknown_placeholder_is_a_clear_error(tmp_path, body, message):
    with pytest.raises(UnknownPlaceholder, match=message):
        BotSpec.from_toml(write(tmp_path, body))


def test_unreadable_spec(tmp_path):
    with pytest.raises(SpecError, match="cannot read the bot spec"):
        BotSpec.from_toml(tmp_path / "missing.toml")


def options(**values):
    return lambda flag: values.get(flag.lstrip("-").replace("-", "_"))


def test_cli_flags_build_and_override_a_spec(tmp_path):
    assert spec_from_options(options()) is None  # the bundled bots
    spec = spec_from_options(options(bot_cmd="node bot.js", bot_parts="polling,telethon",
                                     bot_name="grammy", bot_probe="/ping", bot_cwd=str(tmp_path),
                                     bot_env=["BOT_TOKEN={telegram.token}"], bot_ready_line="started",
                                     bot_session="gramjs", bot_trigger=["GET /a", "/b"],
                                     deriv_request="/q {symbol}", deriv_stream="/s {symbol}"))
    assert spec.command == ("node", "bot.js") and spec.parts == {"polling", "mtproto"}
    assert spec.name == "grammy" and spec.probe == "/ping" and spec.cwd == tmp_path.resolve()
    assert dict(spec.env) == {"BOT_TOKEN": "{telegram.token}"} and spec.ready.line == "started"
    assert spec.session == "gramjs" and [t.text for t in spec.triggers] == ["GET /a", "/b"]
    assert (spec.deriv_request, spec.deriv_stream) == ("/q {symbol}", "/s {symbol}")
    path = write(tmp_path, "[bot]\ncommand = 'x'\nparts = ['webhook']\n[bot.ready]\nhttp = '/h'\ntimeout = 5\n")
    over = spec_from_options(options(bot_spec=path, bot_parts="polling", bot_ready_line="up"))
    assert over.parts == {"polling"} and over.ready == Ready(line="up", timeout=5.0)


@pytest.mark.parametrize("values, message", [
    (dict(bot_cmd="x", bot_parts="pollin"), r"--bot-parts: unknown part\(s\) \['pollin'\]"),
    (dict(bot_cmd=""), None),
    (dict(bot_cmd="x", bot_spec="a.toml"), r"not both"),
    (dict(bot_cmd="x", bot_probe="start"), r"--bot-probe must be a bot command"),
    (dict(bot_cmd="x", bot_cwd="/nonexistent/dir"), r"--bot-cwd: /nonexistent/dir is not a folder"),
    (dict(bot_cmd="x", bot_env=["NOVALUE"]), r"--bot-env takes NAME=VALUE"),
    (dict(bot_cmd="x", bot_env=["A={bogus}"]), r"unknown placeholder \{bogus\}"),
    (dict(bot_cmd="x", bot_ready_http="/h", bot_ready_line="x"), r"not both"),
    (dict(bot_cmd="x", bot_trigger=["PUT /x"]), r"only GET"),
    (dict(bot_cmd="x", deriv_request="/price"), r"must contain \{symbol\}"),
    (dict(bot_cmd="'unclosed"), r"--bot-cmd: No closing quotation"),
])
def test_cli_flag_errors(values, message):
    if message is None:
        assert spec_from_options(options(**values)) is None  # an empty command is no command
        return
    with pytest.raises(ValueError, match=message):
        spec_from_options(options(**values))


def test_from_command_and_empty_command():
    assert BotSpec.from_command("python bot.py", "polling,telethon").parts == {"polling", "mtproto"}
    with pytest.raises(SpecError, match="needs a command"):
        BotSpec.from_command("", "polling")
