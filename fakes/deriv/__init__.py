"""A fake Deriv WebSocket API (ws://HOST:PORT/websockets/v3?app_id=N).

- envelope.py   decoding frames, the sanity check, echo_req/req_id/passthrough, error shapes
- schema.py     the request schemas of the served calls and a validator worded as the server's
- core.py       the sans-I/O protocol core: sessions, calls, streams; `handle()` and `step()`
- market.py     seeded random walk per symbol on a fake clock
- contracts.py  pricing, buying and settling rise/fall contracts on that clock
- accounts.py   accounts made through the control API
- ratelimit.py  per-call-class limits; RateLimit, and a 1008 close for the per-connection class
- transport.py  the websockets server: handshake rules, one task per message, the plane
- fake.py       the Fake subclass: options, lifecycle, /_control/deriv/ routes
- control.py    DerivControl, the typed client of those routes
- fixtures.py   the `deriv` pytest fixture
"""
