"""A SPARQL endpoint that answers at once with canned results: what is left is the front-end's own cost.

Why: measured in front of a real engine, digiregion's per-request cost drowns in the engine's own
variance. Behind this server (``digiregion serve --store http://127.0.0.1:PORT/sparql``) every query
costs the engine next to nothing, so two builds of digiregion can be compared side by side, e.g. with
``scripts/remote_overhead.py --engine http://127.0.0.1:PORT/sparql --graph urn:x --target old=… --target new=…``
or by reading each server's CPU time from /proc around a run of requests.

    /tmp/venv/bin/python scripts/canned_engine.py 8899

It announces itself as Virtuoso (so the Virtuoso profile applies) and answers: CONSTRUCT/DESCRIBE with
an empty N-Triples graph, COUNT queries with 0, GROUP BY (and the store's version query) with no rows,
ASK with true, any other query with one row. Listens on 127.0.0.1 only. A measuring aid, not a test.
"""

from __future__ import annotations

import asyncio
import sys
import urllib.parse

ONE_ROW = (b'{ "head": { "link": [], "vars": ["k", "name"] }, "results": { "distinct": false, "ordered": true, '
           b'"bindings": [ { "k": { "type": "uri", "value": "https://w3id.org/digiregion/lippe/kommune/05766020" }, '
           b'"name": { "type": "literal", "xml:lang": "de", "value": "Detmold" }} ] } }')
COUNT = (b'{ "head": { "link": [], "vars": ["n"] }, "results": { "distinct": false, "ordered": true, "bindings": '
         b'[ { "n": { "type": "typed-literal", "datatype": "http://www.w3.org/2001/XMLSchema#integer", '
         b'"value": "0" }} ] } }')
NO_ROWS = b'{ "head": { "link": [], "vars": ["c", "n"] }, "results": { "distinct": false, "ordered": true, "bindings": [ ] } }'
TRUE = b'{ "head": { "link": [] }, "boolean": true }'
RESULTS = b"application/sparql-results+json"


def answer(body: bytes) -> tuple[bytes, bytes]:
    """(content type, body) for a form-encoded request body."""
    query = urllib.parse.parse_qs(body.decode("utf-8", "replace")).get("query", [""])[0].upper()
    if "CONSTRUCT" in query or "DESCRIBE" in query:
        return b"application/n-triples", b""
    if "GROUP BY" in query or "SELECT ?V ?M" in query:
        return RESULTS, NO_ROWS
    if "COUNT" in query:
        return RESULTS, COUNT
    if "ASK" in query and "SELECT" not in query:
        return RESULTS, TRUE
    return RESULTS, ONE_ROW


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            kind, body = answer(await reader.readexactly(length) if length else b"")
            writer.write(b"HTTP/1.1 200 OK\r\nServer: Virtuoso/07.20.3229 (Linux)\r\nContent-Type: %s\r\n"
                         b"Content-Length: %d\r\nConnection: Keep-Alive\r\n\r\n%s" % (kind, len(body), body))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()


async def main(port: int) -> None:
    server = await asyncio.start_server(handle, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 8899))
