"""Where each resource is written in a Turtle file: subject → line, (subject, predicate) → line.

rdflib and pyoxigraph throw positions away after parsing, but a contributor needs "file:line". This
module re-reads a Turtle/N-Triples file that pyoxigraph already accepted with a small tokenizer and
recursive-descent walk of the Turtle grammar, resolving prefixed names and relative IRIs exactly as
the file declares them. It records positions only; it never decides whether the file is valid, and
on anything unexpected it stops quietly and keeps what it found (a finding without a line is better
than no finding).

``Locator`` answers the same questions for a few resources of a big file without walking all of it
(see there); whatever its shortcut cannot settle, it answers from the full walk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urljoin

_TOKEN = re.compile(
    r"""
    (?P<ws>[ \t\r\f]+)
  | (?P<nl>\n)
  | (?P<comment>\#[^\n]*)
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<lstring>\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"|'''(?:[^'\\]|\\.|'(?!''))*''')
  | (?P<string>"(?:[^"\\\n\r]|\\.)*"|'(?:[^'\\\n\r]|\\.)*')
  | (?P<langtag>@[a-zA-Z]+(?:-[a-zA-Z0-9]+)*)
  | (?P<dtmark>\^\^)
  | (?P<bnode>_:[^\s;,()\[\]{}<>"']+)
  | (?P<number>[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?))
  | (?P<punct>[.;,\[\]()\{\}])
  | (?P<name>(?:[^\s;,()\[\]{}<>"'\#\\]|\\.)*:(?:[^\s;,()\[\]{}<>"'\#\\]|\\.|\#)*|[A-Za-z][A-Za-z0-9_-]*)
    """,
    re.VERBOSE | re.DOTALL,
)


class Token(NamedTuple):
    kind: str
    text: str
    line: int
    column: int


@dataclass
class Positions:
    """Positions of one file. Keys are IRIs as strings, or ``_:label`` for labelled blank nodes."""

    subjects: dict[str, int] = field(default_factory=dict)
    predicates: dict[tuple[str, str], int] = field(default_factory=dict)
    objects: dict[tuple[str, str, str], int] = field(default_factory=dict)
    complete: bool = True

    def subject_line(self, subject: str) -> int | None:
        return self.subjects.get(subject)

    def predicate_line(self, subject: str, predicate: str) -> int | None:
        return self.predicates.get((subject, predicate))


class _Stop(Exception):
    pass


def tokenize(text: str, pos: int = 0, line: int = 1, end: int | None = None) -> list[Token]:
    """Tokens of ``text[pos:end]``; ``pos`` must be the start of line number ``line``."""
    tokens: list[Token] = []
    line_start = pos
    end = len(text) if end is None else min(end, len(text))
    match_at = _TOKEN.match
    while pos < end:
        match = match_at(text, pos, end)
        if not match:
            break
        kind = match.lastgroup or ""
        value = match.group()
        if kind == "nl":
            line, line_start = line + 1, match.end()
        elif kind not in ("ws", "comment"):
            if kind == "name" and value.endswith(".") and not value.endswith("\\."):
                # a trailing dot ends the statement, it is not part of the local name
                stripped = value.rstrip(".")
                tokens.append(Token(kind, stripped, line, pos - line_start + 1))
                pos += len(stripped)
                continue
            tokens.append(Token(kind, value, line, pos - line_start + 1))
            newlines = value.count("\n")
            if newlines:
                line += newlines
                line_start = pos + value.rindex("\n") + 1
        pos = match.end()
    return tokens


class _Walker:
    """Recursive descent over the Turtle grammar, recording where terms appear."""

    def __init__(self, tokens: list[Token], base: str | None) -> None:
        self.tokens = tokens
        self.i = 0
        self.base = base
        self.prefixes: dict[str, str] = {}
        self.result = Positions()
        self._anon = 0

    # -- token helpers -------------------------------------------------------------------------
    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise _Stop
        self.i += 1
        return token

    def expect(self, text: str) -> None:
        if self.take().text != text:
            raise _Stop

    # -- terms ---------------------------------------------------------------------------------
    def resolve(self, token: Token) -> str:
        if token.kind == "iri":
            raw = _unescape(token.text[1:-1])
            return _join(self.base, raw) if self.base else raw
        if token.kind == "bnode":
            return token.text
        if token.kind == "name":
            if token.text == "a":
                return "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
            prefix, _, local = token.text.partition(":")
            if prefix not in self.prefixes:
                raise _Stop
            return self.prefixes[prefix] + _unescape_local(local)
        raise _Stop

    # -- grammar -------------------------------------------------------------------------------
    def walk(self) -> Positions:
        try:
            while self.peek() is not None:
                self.statement()
        except (_Stop, ValueError):
            self.result.complete = False
        return self.result

    def statement(self) -> None:
        token = self.take()
        lowered = token.text.lower()
        if lowered in ("@prefix", "prefix"):
            name = self.take().text
            iri = self.take()
            self.prefixes[name[:-1]] = self.resolve(iri)
            if lowered == "@prefix":
                self.expect(".")
            return
        if lowered in ("@base", "base"):
            self.base = self.resolve(self.take())
            if lowered == "@base":
                self.expect(".")
            return
        if token.text == "{" or token.text == "}":  # TriG graph blocks: positions of the triples inside
            return
        if token.text == "[":
            subject = self.blank_node_property_list(token, None)
            nxt = self.peek()
            if nxt is not None and nxt.text not in (".", "}"):
                self.predicate_object_list(subject)
        elif token.text == "(":
            subject = self.collection(token)
            self.predicate_object_list(subject)
        else:
            subject = self.resolve(token)
            self.result.subjects.setdefault(subject, token.line)
            nxt = self.peek()
            if nxt is not None and nxt.text == "{":  # TriG: graph name followed by a block
                return
            self.predicate_object_list(subject)
        nxt = self.peek()
        if nxt is not None and nxt.text == ".":
            self.take()

    def predicate_object_list(self, subject: str) -> None:
        while True:
            verb = self.take()
            predicate = self.resolve(verb)
            self.result.predicates.setdefault((subject, predicate), verb.line)
            self.object_list(subject, predicate)
            if self.peek() is None or self.peek().text != ";":
                return
            while self.peek() is not None and self.peek().text == ";":
                self.take()
            nxt = self.peek()
            if nxt is None or nxt.text in (".", "]", "}"):
                return

    def object_list(self, subject: str, predicate: str) -> None:
        while True:
            self.object(subject, predicate)
            if self.peek() is None or self.peek().text != ",":
                return
            self.take()

    def object(self, subject: str, predicate: str) -> None:
        token = self.take()
        if token.text == "[":
            value = self.blank_node_property_list(token, (subject, predicate))
        elif token.text == "(":
            value = self.collection(token)
        elif token.kind in ("string", "lstring"):
            nxt = self.peek()
            if nxt is not None and nxt.kind == "langtag":
                self.take()
            elif nxt is not None and nxt.kind == "dtmark":
                self.take()
                self.take()
            return
        elif token.kind == "number" or token.text in ("true", "false"):
            return
        else:
            value = self.resolve(token)
        self.result.objects.setdefault((subject, predicate, value), token.line)

    def blank_node_property_list(self, opener: Token, parent: tuple[str, str] | None) -> str:
        self._anon += 1
        key = f"_:anon{self._anon}@{opener.line}"
        self.result.subjects.setdefault(key, opener.line)
        if self.peek() is not None and self.peek().text == "]":
            self.take()
            return key
        self.predicate_object_list(key)
        self.expect("]")
        return key

    def collection(self, opener: Token) -> str:
        self._anon += 1
        key = f"_:list{self._anon}@{opener.line}"
        while self.peek() is not None and self.peek().text != ")":
            self.object(key, "http://www.w3.org/1999/02/22-rdf-syntax-ns#first")
        self.expect(")")
        return key


_ECHAR = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text
    return _ECHAR.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), text)


def _unescape_local(local: str) -> str:
    if "\\" not in local:
        return local
    return re.sub(r"\\(.)", r"\1", local)


_PLAIN_RELATIVE = re.compile(r"[^/.:?#][^:]*")


@lru_cache(maxsize=65536)
def _join(base: str, raw: str) -> str:
    """``urljoin`` with a shortcut for the common case (``<kommune/05766020#x>`` against ``…/lippe/``)."""
    if (base.endswith("/") and "?" not in base and "#" not in base and _PLAIN_RELATIVE.fullmatch(raw)
            and "/." not in raw):
        return base + raw
    return urljoin(base, raw)


def scan_text(text: str, base: str | None = None) -> Positions:
    """Positions of the subjects, predicates and object IRIs written in ``text``."""
    return _Walker(tokenize(text), base).walk()


def scan_file(path: Path, base: str | None = None, max_bytes: int = 64 * 1024 * 1024) -> Positions:
    """Scan a file; files over ``max_bytes`` get no positions (complete=False) to stay interactive."""
    if path.stat().st_size > max_bytes:
        return Positions(complete=False)
    return scan_text(path.read_text(encoding="utf-8-sig", errors="replace"), base)
