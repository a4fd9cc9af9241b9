"""pytest fixtures for the fake MTProto server (registered by botfakes' pytest plugin).

    async def test_me(mtproto, mtproto_string_session):
        client = TelegramClient(StringSession(mtproto_string_session), mtproto.api_id, mtproto.api_hash)
        await client.connect()
        assert (await client.get_me()).id

`mtproto` is the freshly reset fake (seeded world: users alice and bob_trader, the bot trending_bot,
crypto channels crypto_signals / defi_daily / altcoin_radar with 40 posts each) and makes this
process's Telethon trust the fake's RSA key, so a session without a key can sign in too.
Sessions for each client: `mtproto_string_session` / `mtproto_session_file` (Telethon),
`mtproto_gramjs_session`, `mtproto_pyrogram_session`, `mtproto_pyrogram_session_file`, or
`mtproto.mint_session(format, ...)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from ..control.client import AsyncProxy, ControlClient
from .control import MTProtoControl
from .keyexchange import trust_test_key
from .methods import DC_ID
from .minting import API_HASH, API_ID  # what the fixtures' clients send


@dataclass
class MTProtoHandle:
    host: str
    port: int
    control: MTProtoControl  # typed /_control/mtproto/ client
    plane: ControlClient  # the shared control plane (faults, gates, journal)
    dc_id: int = DC_ID
    api_id: int = API_ID
    api_hash: str = API_HASH

    @property
    def aio(self) -> Any:
        """Awaitable twins of `control`'s methods (run in a thread): `await mtproto.aio.post(...)`."""
        return AsyncProxy(self.control)

    def string_session(self, **kwargs: Any) -> str:
        """A StringSession string signed in as a new user (or as kwargs name, see mint_session)."""
        return self.control.string_session(**kwargs)

    def session_file(self, path: str, **kwargs: Any) -> str:
        return self.control.session_file(str(path), **kwargs)

    def mint_session(self, format: str = "telethon", **kwargs: Any) -> dict:
        """A signed-in session in a client's format (see minting.FORMATS): "gramjs",
        "pyrogram", "pyrogram-file" (with path=...), "telethon", "telethon-file"."""
        return self.control.mint_session(format=format, **kwargs)

    @property
    def preload_env(self) -> dict[str, str]:
        """What the GramJS and Pyrogram preloads read to find the fake (see preload/)."""
        from .preload import preload_environment

        return preload_environment(self.host, self.port)

    def client(self, session: Any = None, **kwargs: Any):
        """A TelegramClient for the fake. `session`: a minted StringSession string, a .session
        path, a Session object, or None for a fresh session pointed at the fake (for
        start(bot_token=...) or the phone login through the real key exchange)."""
        from telethon import TelegramClient
        from telethon.sessions import StringSession

        if session is None or (isinstance(session, str) and session.startswith("1")
                               and len(session) > 300):
            session = StringSession(session)
        client = TelegramClient(session, self.api_id, self.api_hash, **kwargs)
        if not client.session.auth_key:
            client.session.set_dc(self.dc_id, self.host, self.port)
        return client


@pytest.fixture
def mtproto(botfakes) -> MTProtoHandle:
    trust_test_key()
    fake_info = botfakes.info()["fakes"]["mtproto"]
    control = botfakes.control
    return MTProtoHandle(host=fake_info["host"], port=fake_info["port"], control=control.mtproto,
                         plane=control)


@pytest.fixture
def mtproto_string_session(mtproto: MTProtoHandle) -> str:
    """A StringSession string for a new signed-in user of the fake."""
    return mtproto.string_session()


@pytest.fixture
def mtproto_session_file(mtproto: MTProtoHandle, tmp_path) -> str:
    """The path of a Telethon .session file for a new signed-in user of the fake."""
    return mtproto.session_file(str(tmp_path / "fake.session"))


@pytest.fixture
def mtproto_gramjs_session(mtproto: MTProtoHandle) -> str:
    """A GramJS StringSession string for a new signed-in user (run GramJS with the preload:
    `mtproto.preload_env` plus NODE_OPTIONS, see preload.gramjs_environment)."""
    return mtproto.mint_session("gramjs")["session"]


@pytest.fixture
def mtproto_pyrogram_session(mtproto: MTProtoHandle) -> str:
    """A Pyrogram/Kurigram session string for a new signed-in user (it holds no address: run the
    client with the Pyrogram preload, see preload.pyrogram_environment)."""
    return mtproto.mint_session("pyrogram")["session"]


@pytest.fixture
def mtproto_pyrogram_session_file(mtproto: MTProtoHandle, tmp_path) -> str:
    """The path of a Pyrogram/Kurigram .session file for a new signed-in user (names the fake)."""
    return mtproto.mint_session("pyrogram-file", path=str(tmp_path / "fake.session"))["session"]
