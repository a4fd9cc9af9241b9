"""A fake Telegram MTProto server (tcp://HOST:PORT, DC 2) that unmodified Telethon, GramJS and
Pyrogram/Kurigram talk to, each answered in the API layer it declared (GramJS 2.26: 198,
Telethon 1.45 and Kurigram 2.2.26: 229).

Modules:
- framing.py     TCP full / intermediate / padded / abridged transports, sans-I/O
- crypto.py      MTProto 2.0 msg_key and AES-256-IGE (Telethon's AES), auth key ids
- keyexchange.py the server side of req_pq_multi / req_DH_params / set_client_DH_params with the
                 shipped test RSA key (test_rsa_key.pem), old sha1 padding and RSA_PAD;
                 `trust_test_key()` for Telethon clients
- session.py     session layer: msg_id/seqno rules, containers, gzip, rpc_result, TL names
- world.py       users, bots, crypto channels with seeded history, message boxes and pts
- methods.py     the API calls served, built from the installed Telethon's TL classes: the
                 fake's model, layer 229 (rpc.py: the old name, re-exporting it)
- tl/            per-layer API schemas (layer198.tl, layer229.tl: package data), a TL parser
                 and codec, the bridge between the model and any layer, the generator
- authkeys.py    AuthKeyRecord: an auth key the server knows and the sessions opened on it
- core.py        MTProtoCore (keys, AUTH_KEY_DUPLICATED, which calls close the connection,
                 the fault-error mapping), no sockets
- connection.py  ConnectionProtocol, one connection's sans-I/O state machine; reads calls and
                 writes answers in the connection's layer
- layers.py      a call's bytes -> the model object (or Telegram's INPUT_* error), an answer
                 -> the layer's bytes
- minting.py     sessions holding a key the fake knows, per client: telethon, telethon-file,
                 gramjs, pyrogram, pyrogram-file
- preload/       gramjs.cjs (NODE_OPTIONS=--require) and python/ (PYTHONPATH sitecustomize for
                 Pyrogram): the fake's RSA key trusted and the client's DC dials sent to the fake
- transport.py   the asyncio TCP server: bytes in, protocol, control plane, bytes out (I/O only)
- routes.py      the /_control/mtproto/ routes
- fake.py        the Fake subclass: options, lifecycle, reset
- control.py     MTProtoControl, the typed client of those routes
- fixtures.py    the `mtproto` and `mtproto_string_session` pytest fixtures

Using it from a bot without code changes: mint a session in the bot's format (control API POST
/_control/mtproto/sessions {format}, or `control.mtproto.mint_session(format=...)`) and give it
to the bot; it holds the fake's address (where the format can) and a signed-in key. GramJS bots
also need the GramJS preload (it dials port 80 whatever the session says), Pyrogram bots with a
session string the Pyrogram preload (the string has no address). A bot that signs in itself (bot
token, phone + code 12345) must trust the fake's RSA key: the preloads do, Telethon needs
`trust_test_key()` (or `telethon.crypto.rsa.add_key(GET /_control/mtproto/rsa pem, old=False)`).
The fake's port is at most 32767 when it picks it (GramJS stores ports as signed 16-bit).

Journal and matching conventions:
- method = the TL schema name of the request as received: "messages.sendMessage",
  "help.getConfig", "invokeWithLayer", "req_pq_multi", "ping". Telethon's first call on every
  connection is invokeWithLayer(initConnection(help.getConfig)): method "invokeWithLayer", params
  {"query": "help.getConfig", "chain": "invokeWithLayer>initConnection>help.getConfig",
  "layer": 229, "api_id": ...}. Other params: the request's scalar fields, with peers as ids.
- a call that does not decode in its layer is journaled like any (method: its TL name, or the
  constructor id) and answered 400 INPUT_LAYER_INVALID / INPUT_METHOD_INVALID /
  INPUT_CONSTRUCTOR_INVALID / INPUT_FETCH_FAIL, with `detail` saying what; unknown layers are
  counted in /_control/stats (fakes.mtproto.unknown_layers).
- fault `error` dicts: {"error_code": 420, "error_message": "FLOOD_WAIT_5"} answers an rpc_error;
  {"transport_error": 429} writes the transport error -429 and closes. "drop" never answers,
  "close" closes the TCP connection. Pushed updates are journaled as kind "push", method
  "updates" (push-stage rules can drop them or close the connection).
- AUTH_KEY_DUPLICATED policy "both" (default, as Telegram documents) or "newer"; see core.py.
"""
