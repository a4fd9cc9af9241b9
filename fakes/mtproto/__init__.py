"""A fake Telegram MTProto server (tcp://HOST:PORT, DC 2) that unmodified Telethon talks to.

Modules:
- framing.py     TCP full / intermediate / padded / abridged transports, sans-I/O
- crypto.py      MTProto 2.0 msg_key and AES-256-IGE (Telethon's AES), auth key ids
- keyexchange.py the server side of req_pq_multi / req_DH_params / set_client_DH_params with the
                 shipped test RSA key (test_rsa_key.pem); `trust_test_key()` for clients
- session.py     session layer: msg_id/seqno rules, containers, gzip, rpc_result, TL names
- world.py       users, bots, crypto channels with seeded history, message boxes and pts
- rpc.py         the API calls served, built from the installed Telethon's TL classes
- core.py        MTProtoCore (keys, AUTH_KEY_DUPLICATED) and ConnectionProtocol, no sockets
- minting.py     Telethon StringSession strings and .session files holding a key the fake knows
- transport.py   the asyncio TCP server: bytes in, protocol, control plane, bytes out
- fake.py        the Fake subclass: options, lifecycle, /_control/mtproto/ routes
- control.py     MTProtoControl, the typed client of those routes
- fixtures.py    the `mtproto` and `mtproto_string_session` pytest fixtures

Using it from a bot without code changes: mint a session (control API POST /_control/mtproto/
sessions, or `control.mtproto.string_session()` / `.session_file(path)`) and give the bot that
StringSession string or .session file; it already holds the fake's address and a signed-in key.
A bot that signs in itself (bot token, phone + code 12345) needs `trust_test_key()` first (or
`telethon.crypto.rsa.add_key(GET /_control/mtproto/rsa pem, old=False)` in another process).

Journal and matching conventions:
- method = the TL schema name of the request as received: "messages.sendMessage",
  "help.getConfig", "invokeWithLayer", "req_pq_multi", "ping". Telethon's first call on every
  connection is invokeWithLayer(initConnection(help.getConfig)): method "invokeWithLayer", params
  {"query": "help.getConfig", "chain": "invokeWithLayer>initConnection>help.getConfig",
  "layer": 229, "api_id": ...}. Other params: the request's scalar fields, with peers as ids.
- fault `error` dicts: {"error_code": 420, "error_message": "FLOOD_WAIT_5"} answers an rpc_error;
  {"transport_error": 429} writes the transport error -429 and closes. "drop" never answers,
  "close" closes the TCP connection. Pushed updates are journaled as kind "push", method
  "updates" (push-stage rules can drop them or close the connection).
- AUTH_KEY_DUPLICATED policy "both" (default, as Telegram documents) or "newer"; see core.py.
"""
