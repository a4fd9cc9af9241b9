"""Client connections as the kit knows them: one Link per connection, one table for all fakes.

A transport makes a Link subclass for its kind of I/O (asyncio streams, WebSocket, HTTP; the
three below), registers it with `plane.links.open(...)` and ends it with `.closed(...)`; the table
journals "connect" and "disconnect", lists connections for GET /_control/connections, closes one
for POST /_control/connections/{conn}/close, and closes a fake's connections on reset. Every link
has one push queue (pushes.py), so server pushes keep their order per connection on every fake.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable, Protocol

from .journal import Journal
from .pushes import PushQueue


class World(Protocol):
    """What the table needs of the plane: the journal, and which epoch (world) is current."""

    epoch: int
    journal: Journal

RESET_CLOSE_TIMEOUT = 2.0  # a client that does not answer a close within this is cut


class Link:
    """One client connection. Subclasses say how to send, close and hold unanswered."""

    def __init__(self, fake: str, conn: str, peer: str = "") -> None:
        self.fake = fake
        self.conn = conn
        self.peer = peer
        self.epoch = -1  # the world its "connect" event was journaled in (set by Links.open)
        self.ended = asyncio.Event()  # its handler has finished and journaled the disconnect
        self.pushes = PushQueue(self)
        # what GET /_control/connections adds for this connection (the fake's own fields)
        self.describe: Callable[[], dict[str, Any]] = dict

    async def send(self, message: Any) -> None:
        """Send one message in the transport's terms; a connection already gone is no error."""
        raise NotImplementedError

    async def push(self, message: Any) -> None:
        """Send a server push (a transport may encode pushes differently from answers)."""
        await self.send(message)

    async def close(self, code: int | None = None, reason: str = "") -> None:
        """Close the connection (for WebSocket with this close code); no answer follows."""
        raise NotImplementedError

    def abort(self) -> None:
        """Cut the connection at once (a client that does not answer a close)."""

    async def hold_unanswered(self) -> None:
        """What a "drop" leaves behind: on a stream nothing (the connection stays open)."""

    def to_json(self) -> dict[str, Any]:
        return {"conn": self.conn, "fake": self.fake, "peer": self.peer, **self.describe()}


class StreamLink(Link):
    """An asyncio StreamWriter (raw TCP, e.g. MTProto)."""

    def __init__(self, fake: str, conn: str, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        super().__init__(fake, conn, f"{peer[0]}:{peer[1]}" if peer else "")
        self.writer = writer

    def write(self, data: bytes) -> None:
        if data and not self.writer.is_closing():
            self.writer.write(data)

    async def send(self, message: bytes) -> None:
        self.write(message)

    async def close(self, code: int | None = None, reason: str = "") -> None:
        if not self.writer.is_closing():
            self.writer.close()

    def abort(self) -> None:
        transport = self.writer.transport
        if transport is not None:
            transport.abort()


class WebSocketLink(Link):
    """A websockets server connection (e.g. Deriv)."""

    def __init__(self, fake: str, conn: str, ws: Any) -> None:
        peer = ws.remote_address
        super().__init__(fake, conn, f"{peer[0]}:{peer[1]}" if peer else "")
        self.ws = ws

    async def send(self, message: str | bytes) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            await self.ws.send(message)
        except ConnectionClosed:
            pass

    async def close(self, code: int | None = None, reason: str = "") -> None:
        await self.ws.close(code or 1011, reason)

    def abort(self) -> None:
        if self.ws.transport is not None:
            self.ws.transport.abort()


class HttpLink(Link):
    """An HTTP keep-alive connection (e.g. the Bot API): one answer per request, by returning it.

    `send` keeps the response for the handler to return; "drop" holds the request unanswered
    until the client goes away or a reset or stop lets it go, then cuts the connection.
    """

    def __init__(self, fake: str, conn: str, peer: str, transport: Any) -> None:
        super().__init__(fake, conn, peer)
        self.transport = transport
        self.response: Any = None
        self.lost = asyncio.Event()  # the client's TCP connection has closed
        self.let_go: Callable[[], asyncio.Event] = asyncio.Event  # set by reset/stop

    async def send(self, message: Any) -> None:
        self.response = message

    async def close(self, code: int | None = None, reason: str = "") -> None:
        self.abort()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    async def hold_unanswered(self) -> None:
        transport = self.transport
        if not (self.lost.is_set() or transport is None or transport.is_closing()):
            lost = asyncio.ensure_future(self.lost.wait())
            released = asyncio.ensure_future(self.let_go().wait())
            try:
                await asyncio.wait((lost, released), return_when=asyncio.FIRST_COMPLETED)
            finally:
                lost.cancel()
                released.cancel()
        self.abort()


class NullLink(Link):
    """A request that came on no connection of its own (a method in a webhook reply body): its
    answer, and any fault's, goes nowhere."""

    async def send(self, message: Any) -> None:
        pass

    async def close(self, code: int | None = None, reason: str = "") -> None:
        pass


class Links:
    """Every open connection of every fake, by connection id."""

    def __init__(self, plane: World) -> None:
        self._plane = plane
        self._links: dict[str, Link] = {}

    def open(self, link: Link, **data: Any) -> Link:
        """Register a new connection and journal its "connect" (data: peer and the fake's own)."""
        self._links[link.conn] = link
        self.journal_connect(link, **data)
        return link

    def journal_connect(self, link: Link, **data: Any) -> None:
        link.epoch = self._plane.epoch
        self._plane.journal.record(link.fake, "connect", conn=link.conn,
                                   data={**data, "peer": link.peer} if "peer" not in data else data)

    def closed(self, link: Link, **data: Any) -> None:
        """The connection has ended: journal its "disconnect" (in its own world only)."""
        self._links.pop(link.conn, None)
        link.pushes.cancel()
        if link.epoch == self._plane.epoch:
            self._plane.journal.record(link.fake, "disconnect", conn=link.conn, data=data)
        link.ended.set()

    def get(self, conn: str) -> Link | None:
        return self._links.get(conn)

    def of(self, fake: str | None = None) -> list[Link]:
        return [link for link in self._links.values() if fake in (None, link.fake)]

    async def close(self, conn: str, code: int | None = None, reason: str = "") -> bool:
        link = self._links.get(conn)
        if link is None:
            return False
        await link.close(code, reason)
        return True

    async def close_all(self, fake: str, code: int = 1001, reason: str = "reset",
                        timeout: float = RESET_CLOSE_TIMEOUT) -> None:
        """Close a fake's connections and wait (bounded) until each has journaled its end, so
        nothing of them lands after a reset; a client that does not answer the close is cut."""
        links = self.of(fake)
        if not links:
            return
        for link in links:
            link.pushes.cancel()
        closing = [asyncio.ensure_future(link.close(code, reason)) for link in links]
        ended = [asyncio.ensure_future(link.ended.wait()) for link in links]
        try:
            _, pending = await asyncio.wait(ended, timeout=timeout)
            if pending:
                for link in links:
                    if not link.ended.is_set():
                        link.abort()
                await asyncio.wait(pending, timeout=1.0)
        finally:
            for task in closing + ended:
                task.cancel()
