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
from collections.abc import Iterable
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


# -- finding a few resources in a big file -------------------------------------------------------

FAST_MIN_BYTES = 64 * 1024
"""Below this size the full walk is cheap enough; above it ``Locator`` tries its shortcut first."""

_LINE_START_TERM = re.compile(
    r"""^(?:<[^<>"{}|^`\\\x00-\x20]*>|(?:[^\s;,()\[\]{}<>"'\#\\@]|\\.)*:(?:[^\s;,()\[\]{}<>"'\#\\]|\\.|\#)*)""",
    re.MULTILINE)
_DIRECTIVE = re.compile(r"^[ \t]*(@prefix|@base|[Pp][Rr][Ee][Ff][Ii][Xx]|[Bb][Aa][Ss][Ee])[ \t]+"
                        r"(?:([^\s:<]*):[ \t]*)?<([^<>\s]*)>", re.MULTILINE)


class Locator:
    """Lines of given resources in one file, without walking the whole file where that is safe.

    Turtle writers put subjects at the start of a line. In a big file without multi-line strings
    (the only tokens that can span lines, so nothing else can make a line start lie inside a token),
    one regular-expression pass finds the terms at line starts; a candidate counts only if it
    resolves to a wanted IRI under the ``@base``/``@prefix`` declarations in force there and a
    complete statement about it parses from that point. Anything the shortcut cannot settle
    (small files, other layouts, a predicate not in the statements found) is answered by the full
    walk, so the shortcut changes the speed, never the answer's correctness.
    """

    def __init__(self, path: Path, base: str | None, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.path = path
        self.base = base
        self.max_bytes = max_bytes
        self._text: str | None = None
        self._full: Positions | None = None
        self._statements: dict[str, list[Positions]] = {}
        self._searched: set[str] = set()

    def _read(self) -> str | None:
        if self._text is None:
            if self.path.stat().st_size > self.max_bytes:
                return None
            self._text = self.path.read_text(encoding="utf-8-sig", errors="replace")
        return self._text

    def full(self) -> Positions:
        if self._full is None:
            text = self._read()
            self._full = scan_text(text, self.base) if text is not None else Positions(complete=False)
        return self._full

    def prepare(self, subjects: Iterable[str]) -> None:
        """Look for the statements of all these subjects in one pass (big files only)."""
        wanted = {s for s in subjects if s not in self._searched and not s.startswith("_:")}
        self._searched |= wanted
        if not wanted or self._full is not None:
            return
        text = self._read()
        if text is None or len(text) < FAST_MIN_BYTES or '"""' in text or "'''" in text:
            return
        self._shortcut(text, wanted)

    def subject_line(self, subject: str) -> int | None:
        found = self._statements.get(subject)
        if found:
            return found[0].subjects[subject]
        return self.full().subject_line(subject)

    def predicate_line(self, subject: str, predicate: str) -> int | None:
        for statement in self._statements.get(subject, ()):
            line = statement.predicates.get((subject, predicate))
            if line is not None:
                return line
        return self.full().predicate_line(subject, predicate)

    @property
    def objects(self) -> dict[tuple[str, str, str], int]:
        return self.full().objects

    def _shortcut(self, text: str, wanted: set[str]) -> None:
        directives = [(m.start(), m.group(1).lower().lstrip("@"), m.group(2), _unescape(m.group(3)))
                      for m in _DIRECTIVE.finditer(text)]
        base, prefixes = self.base, {}
        next_directive, line, counted = 0, 1, 0
        for match in _LINE_START_TERM.finditer(text):
            start = match.start()
            while next_directive < len(directives) and directives[next_directive][0] < start:
                _, kind, name, raw = directives[next_directive]
                next_directive += 1
                iri = _join(base, raw) if base else raw
                if kind == "base":
                    base = iri
                else:
                    prefixes[name] = iri
            subject = _resolve_term(match.group(), base, prefixes)
            if subject not in wanted:
                continue
            line += text.count("\n", counted, start)
            counted = start
            statement = _statement_at(text, start, line, base, prefixes)
            if statement is not None and statement.subjects.get(subject) == line:
                self._statements.setdefault(subject, []).append(statement)


def _resolve_term(term: str, base: str | None, prefixes: dict[str, str]) -> str | None:
    if term.startswith("<"):
        raw = _unescape(term[1:-1])
        return _join(base, raw) if base else raw
    if term.endswith(".") and not term.endswith("\\."):
        term = term.rstrip(".")
    prefix, _, local = term.partition(":")
    namespace = prefixes.get(prefix)
    return None if namespace is None else namespace + _unescape_local(local)


def _statement_at(text: str, start: int, line: int, base: str | None, prefixes: dict[str, str]) -> Positions | None:
    """Positions of the one complete statement that starts at ``start`` (a line start), or None."""
    window = 1024
    while True:
        end = start + window
        tokens = tokenize(text, start, line, end)
        walker = _Walker(tokens, base)
        walker.prefixes = dict(prefixes)
        try:
            walker.statement()
            complete = walker.i > 0 and tokens[walker.i - 1].text == "."
        except (_Stop, ValueError):
            complete = False
        if complete:
            return walker.result
        if end >= len(text) or walker.i < len(tokens):
            return None  # not a statement here (or one the walker does not understand)
        window *= 4  # the statement goes on past the window: read more
