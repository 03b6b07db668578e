"""The HTTP/1.1 protocol uvicorn runs for us: httptools (llhttp, in C) with a bound on the request head.

Why httptools: h11, uvicorn's pure-Python parser, cost ~0.7 ms of CPU per request on this machine —
more than the whole query of a point lookup (measured at 1M triples, same service, 1,500 sequential
point lookups, ``benchmarks/probe_requests.py``: p50 2.3 ms with h11, 1.25 ms with httptools; web-process
CPU 1.6 → 0.9 ms per request).

Why the subclass: h11 had one protection httptools lacks, a limit on the request line plus headers
(llhttp accepts a head of any size, and httptools concatenates a long header in memory). Here the
bytes received while a request's head is incomplete are counted; once they pass ``MAX_HEAD_BYTES``
(64 KiB, what the h11 setting was) the client gets 431 and the connection is closed. Bytes are
counted per received chunk and checked after the parser has seen it, so the parser never buffers more
than the limit plus one chunk, and a large body arriving together with a small head is not miscounted
(once the head is complete, counting stops until the next request begins).
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_HEAD_BYTES = 64 * 1024

_MESSAGE = ("Anfragekopf zu groß (höchstens 64 KiB). / Request header fields too large (at most 64 KiB).\n"
            ).encode()
_RESPONSE = (b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain; charset=utf-8\r\n"
             b"content-length: " + str(len(_MESSAGE)).encode() + b"\r\nconnection: close\r\n\r\n" + _MESSAGE)


class HeadTooLarge(Exception):
    """Raised from a parser callback to stop parsing the request (httptools reports it as a parser error)."""


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, refusing request heads larger than ``max_head_bytes`` with 431.

    Two counts: the bytes received while a head is incomplete bound what the parser may buffer (checked
    after each chunk), and the parsed request line and headers give the head's exact size once it is
    complete (a head that arrived in one large chunk is refused before any application code runs).
    """

    max_head_bytes = MAX_HEAD_BYTES

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True
        self._received_in_head = 0
        self._head_size = 0
        self._refused = False

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            self._received_in_head += len(data)
        super().data_received(data)
        if self._in_head and self._received_in_head > self.max_head_bytes and not self.transport.is_closing():
            self._refuse()

    def on_message_begin(self) -> None:
        self._head_size = 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._head_size += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_size += len(name) + len(value) + 4  # ": " and CRLF
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._received_in_head = 0
        if self._head_size > self.max_head_bytes:
            self._refused = True
            raise HeadTooLarge
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True

    def send_400_response(self, msg: str) -> None:
        if self._refused:  # the parser error was ours: the head is too large, not malformed
            self._refuse()
        else:
            super().send_400_response(msg)

    def _refuse(self) -> None:
        if not self.transport.is_closing():
            self.transport.write(_RESPONSE)
            self.transport.close()
