"""The typed Python face of /_control/mtproto/ (reached as `ControlClient(...).mtproto`).

    control = ControlClient(control_url)
    session = control.mtproto.mint_session()["session"]      # StringSession string, signed in
    control.mtproto.post("crypto_signals", "BTC breaks out #ETF")  # connected clients get it
"""

from __future__ import annotations

from typing import Any

from ..control.client import FakeControl


class MTProtoControl(FakeControl):
    fake = "mtproto"

    def reset(self, *, policy: str | None = None, posts_per_channel: int | None = None) -> dict:
        """Fresh world and keys (open connections are closed)."""
        return self._post("/reset", {"policy": policy, "posts_per_channel": posts_per_channel})

    def world(self) -> dict:
        return self._get("/world")

    def create_user(self, first_name: str = "User", username: str | None = None,
                    phone: str | None = None) -> dict:
        return self._post("/users", {"first_name": first_name, "username": username, "phone": phone})

    def create_bot(self, username: str | None = None, first_name: str = "Bot") -> dict:
        """A bot account; its `token` signs in with client.start(bot_token=...)."""
        return self._post("/bots", {"username": username, "first_name": first_name})

    def create_channel(self, title: str, username: str | None = None, about: str = "",
                       megagroup: bool = False) -> dict:
        return self._post("/channels", {"title": title, "username": username, "about": about,
                                        "megagroup": megagroup})

    def mint_session(self, *, format: str = "telethon", user_id: int | None = None,
                     username: str | None = None, bot: bool = False, path: str | None = None,
                     first_name: str | None = None, new_username: str | None = None,
                     phone: str | None = None, api_id: int | None = None) -> dict:
        """An auth key the fake knows, signed in; returns {format, session, key_id, user, path?}.

        Names an existing account (user_id / username) or creates one (a bot with bot=True).
        `format` is the client's: "telethon" (StringSession string; with `path` a .session file
        is written too), "telethon-file", "gramjs" (GramJS StringSession), "pyrogram" (Kurigram
        session string), "pyrogram-file" (Kurigram .session file); file formats need `path`,
        and their `session` is the file's path.
        """
        return self._post("/sessions", {
            "format": format, "user_id": user_id, "username": username, "bot": bot or None,
            "path": path, "first_name": first_name, "new_username": new_username, "phone": phone,
            "api_id": api_id,
        })

    def session_formats(self) -> dict:
        """{formats: {name: description}, file_formats, layers}."""
        return self._get("/sessions")

    def string_session(self, **kwargs: Any) -> str:
        return self.mint_session(**kwargs)["session"]

    def session_file(self, path: str, **kwargs: Any) -> str:
        """Write a signed-in Telethon .session file at `path`; returns the file's path."""
        return self.mint_session(path=path, **kwargs)["path"]

    def post(self, channel: str | int, text: str | None = None) -> dict:
        """Post into a channel; connected member clients receive UpdateNewChannelMessage."""
        return self._post(f"/channels/{channel}/messages", {"text": text})

    def send_message(self, sender: str | int, recipient: str | int, text: str) -> dict:
        """A private message from `sender` to `recipient` (ids or usernames)."""
        return self._post("/messages", {"from": sender, "to": recipient, "text": text})

    def keys(self) -> list[dict]:
        return self._get("/keys")

    def revive(self, key_id: int | str | None = None) -> int:
        """Undo AUTH_KEY_DUPLICATED invalidation of one key (or all); returns how many."""
        return self._post("/revive", {"key_id": key_id})["revived"]

    def policy(self) -> str:
        return self._get("/policy")["policy"]

    def set_policy(self, policy: str) -> str:
        """"both" (Telegram: the key is invalidated) or "newer" (only the newer connection fails)."""
        return self._post("/policy", {"policy": policy})["policy"]

    def rsa_public_key(self) -> dict:
        """{pem, fingerprint}: trust it in another process with telethon.crypto.rsa.add_key."""
        return self._get("/rsa")
