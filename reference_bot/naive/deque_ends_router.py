"""Issue 14's proof, not a seed: a Deriv router that looks only at both ends of its pending queue.

Everything else is the reference fix for seed 003 (one reader per socket, a req_id on every
request, streams routed by subscription id). Only the reply routing is "optimised": on the
belief that a server answers a burst either in order or, under load, newest first, the router
keeps its pending requests in a deque and checks a reply's req_id only against the oldest one;
anything else, it assumes, is the newest one's. That holds for every reply order one forced
interleaving would try (in order, reversed, any order of two pending requests) and fails only when
the *middle* one of three or more pending requests is answered while both ends still wait: then
/price R_50's reply goes to the /price R_75 caller. `botfakes run --explore` finds that order;
the default run (replies released in reverse) does not.
"""

from __future__ import annotations

from dataclasses import replace

from ..deriv.connection import DerivConnection
from ..deriv.market import DerivMarket
from ..deriv.router import Router, subscription_id


class DequeEndsRouter(Router):
    def route(self, message: dict) -> str:
        sid = subscription_id(message)
        if sid is not None and sid in self._streams:
            return super().route(message)
        if not self._pending:
            return super().route(message)  # counted as unmatched, like the reference
        oldest, newest = next(iter(self._pending)), next(reversed(self._pending))
        # The bug: "not the oldest, so the newest", without looking at which one it answers.
        target = oldest if message.get("req_id") == oldest else newest
        return super().route({**message, "req_id": target})


def variant(reference):
    def make_market(config):
        connection = DerivConnection(config.deriv_ws_url, config.deriv_app_id, config.deriv_api_token)
        connection.router = DequeEndsRouter()
        return DerivMarket(connection)

    return replace(reference, make_market=make_market)
