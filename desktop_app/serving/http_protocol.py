"""uvicorn's h11 protocol with a deadline for each request's headers.

uvicorn times out idle keep-alive connections but not a request whose headers stop halfway (any byte
cancels the keep-alive timer), so a client that opens connections and trickles headers holds them for
as long as it likes ("slowloris"). Here every connection must have sent a whole request head within
`header_timeout_s` of opening, or of its previous response; otherwise it is closed. A request whose
headers arrived is never cut by this (its body has the app's own timeout).

A request h11 cannot parse (a garbage request line, `Content-Length: abc`, a broken chunk) is answered like
every other refusal, a 400 with a JSON {"error": ...}, where uvicorn answers plain text (and, for a body
that breaks while the app answers, raises inside h11 as the app's answer follows its own)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


class DeadlineH11Protocol(H11Protocol):
    header_timeout_s: float = 10.0
    _head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._head_deadline = self.loop.call_later(self.header_timeout_s, self._deadline_passed, self.cycle)

    def _disarm(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _deadline_passed(self, cycle_then: Any) -> None:
        """No new request since arming (the cycle object is the one of then, finished or none): close."""
        self._head_deadline = None
        waiting = self.cycle is cycle_then and (cycle_then is None or cycle_then.response_complete)
        if waiting and not self.transport.is_closing():
            self.logger.info("closing a connection that sent no complete request head in %g s", self.header_timeout_s)
            self.transport.close()

    def send_400_response(self, msg: str) -> None:
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            # The request's body broke off (a bad chunk) while the app handles it: the app's answer is dropped
            # (its sends see a disconnect), ours goes out instead unless the app's has begun.
            started = cycle.response_started
            cycle.disconnected = True
            cycle.message_event.set()
            if started:
                self.transport.close()
                return
            what = "the request's body (its chunked encoding)"
        else:
            what = "the request line or a header"
        body = json.dumps({"error": f"{msg.rstrip('.')}: {what} could not be parsed as HTTP/1.1"}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                   (b"connection", b"close")]
        try:
            for event in (h11.Response(status_code=400, headers=headers, reason=b"Bad Request"),
                          h11.Data(data=body), h11.EndOfMessage()):
                self.transport.write(self.conn.send(event))
        except h11.LocalProtocolError:      # an answer has gone out already: there is nothing more to say
            pass
        self.transport.close()


def with_header_timeout(seconds: float) -> type[DeadlineH11Protocol]:
    """The protocol class for uvicorn.Config(http=...) with this deadline."""
    return type("DeadlineH11Protocol", (DeadlineH11Protocol,), {"header_timeout_s": float(seconds)})
