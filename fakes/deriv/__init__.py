"""A fake Deriv WebSocket API (ws://HOST:PORT/websockets/v3?app_id=N).

- envelope.py   decoding frames, the sanity check, echo_req/req_id/passthrough, error shapes
- schema.py     the served calls' request schemas (send_schemas.json, our own draft-4 transcription),
                validated with jsonschema and worded as the server words it
- state.py      the records and limits: Stream, Session, Delivery, Result
- core.py       the sans-I/O protocol core: handshake rules, check order, sessions, streams,
                `handle()` and `step()`, the fault rules' error mapping (`fault_reply`)
- calls.py      the calls (`call_<name>`) and message bodies, a mixin of the core
- market.py     seeded random walk per symbol on a fake clock
- contracts.py  pricing, buying and settling rise/fall contracts on that clock
- accounts.py   accounts made through the control API
- ratelimit.py  per-call-class limits; RateLimit, and a 1008 close for the per-connection class
- transport.py  the websockets server (I/O only): one task per message, the plane, push queues
- routes.py     the /_control/deriv/ routes
- fake.py       the Fake subclass: options, lifecycle, reset
- control.py    DerivControl, the typed client of those routes
- fixtures.py   the `deriv` pytest fixture
"""
