"""Give alternative property paths (``p|q``) their bag semantics on the embedded engine.

SPARQL 1.1 §18.4 evaluates ``Path(X, alt(P, Q), Y)`` as ``Union(eval(X P Y), eval(X Q Y))``, a
multiset: a project that names a municipality both as ``dr:lead`` and as ``dr:participant`` is one
row per link. Oxigraph deduplicates alternatives on purpose (oxigraph/oxigraph#351), so
``?p (dr:lead|dr:participant) ?k`` loses rows that Virtuoso, Jena and rdflib return, and counts built
on it come out too small. Until the engine changes, the query text is rewritten before it reaches
pyoxigraph: a triple whose whole predicate is an alternative becomes the ``UNION`` the specification
defines::

    ?p a dr:Project ; (dr:lead|dr:participant) ?k .
    →  ?p a dr:Project . { ?p dr:lead ?k } UNION { ?p dr:participant ?k }

The rewrite is deliberately narrow, because a rewrite that is wrong would be worse than the
deviation it fixes:

* only a *top-level* alternative (the whole verb, optionally in parentheses; nested alternatives are
  flattened) — ``p/(q|r)``, ``(p|q)+`` and negated sets ``!(p|q)`` stay as they are;
* only where the subject and each object are single terms (variable, IRI, literal) — no blank
  nodes or collections, which cannot be repeated in two groups;
* never inside ``EXISTS`` / ``NOT EXISTS`` (existence does not depend on multiplicity), ``SERVICE``
  (the remote engine's semantics apply) or an ``ASK`` query;
* the statement is replaced in place, so the group's joins, ``OPTIONAL``, ``BIND`` and ``FILTER``
  scopes stay the same (join distributes over union); line breaks are kept so that positions after
  the statement still match the client's text.

Anything the walker does not understand leaves the text untouched. The worker executes the original
text if the rewritten one does not parse, so a rewrite can never turn a valid query into an error.
The remote engines evaluate alternatives correctly and get the original text.
"""

from __future__ import annotations

from dataclasses import dataclass

from .sparql_guard import Token, scan

OPENERS = {"(": ")", "[": "]", "{": "}"}
CLOSERS = frozenset(OPENERS.values())
GROUP_KEYWORDS = frozenset(
    {"OPTIONAL", "MINUS", "GRAPH", "SERVICE", "FILTER", "BIND", "VALUES", "UNION"})
MODIFIERS = frozenset("?*+")


class _Unsupported(Exception):
    """The walker met something it does not model; the statement (or query) is left as written."""


@dataclass(frozen=True)
class _Edit:
    start: int
    end: int
    text: str


def rewrite(text: str) -> str:
    """The query with every rewritable top-level alternative path turned into a ``UNION``."""
    if "|" not in text:
        return text
    tokens = _tokens(text)
    if not _has_alternative(tokens):
        return text
    try:
        edits = _Walker(text, tokens).edits()
    except (_Unsupported, IndexError):
        return text
    for edit in sorted(edits, key=lambda e: e.start, reverse=True):
        text = text[:edit.start] + edit.text + text[edit.end:]
    return text


def _tokens(text: str) -> list[Token]:
    """The guard's tokens, with a statement's final ``.`` split off a prefixed name (``dr:Project.``)."""
    out: list[Token] = []
    for token in scan(text):
        if token.kind == "pname" and token.value.endswith(".") and not token.value.endswith("\\."):
            name = token.value.rstrip(".")
            cut = token.start + len(name)
            out.append(Token("pname", name, token.start, cut))
            out.extend(Token("other", ".", cut + n, cut + n + 1) for n in range(len(token.value) - len(name)))
        else:
            out.append(token)
    return out


def _is(token: Token, value: str) -> bool:
    return token.kind == "other" and token.value == value


def _keyword(token: Token) -> str:
    return token.value.upper() if token.kind == "word" else ""


def _has_alternative(tokens: list[Token]) -> bool:
    """A ``|`` that is not half of the ``||`` operator."""
    for n, token in enumerate(tokens):
        if _is(token, "|"):
            before = tokens[n - 1] if n else None
            after = tokens[n + 1] if n + 1 < len(tokens) else None
            glued = (before is not None and _is(before, "|") and before.end == token.start) or (
                after is not None and _is(after, "|") and after.start == token.end)
            if not glued:
                return True
    return False


def _skip_balanced(tokens: list[Token], i: int) -> int:
    """Index after the bracket that closes ``tokens[i]``."""
    depth = 0
    while True:
        value = tokens[i].value if tokens[i].kind == "other" else ""
        if value in OPENERS:
            depth += 1
        elif value in CLOSERS:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1


class _Walker:
    """Walks the group graph patterns of one query and collects the statements to replace."""

    def __init__(self, text: str, tokens: list[Token]) -> None:
        self.text = text
        self.tokens = tokens
        self.found: list[_Edit] = []

    def edits(self) -> list[_Edit]:
        tokens = self.tokens
        i = 0
        form = ""
        while i < len(tokens) and not form:
            word = _keyword(tokens[i])
            if word in ("SELECT", "CONSTRUCT", "DESCRIBE", "ASK"):
                form = word
            i += 1
        if form in ("", "ASK"):
            return []
        if form == "CONSTRUCT" and i < len(tokens) and _is(tokens[i], "{"):
            i = _skip_balanced(tokens, i)  # the template holds no paths
        while i < len(tokens) and not _is(tokens[i], "{"):
            i = _skip_balanced(tokens, i) if _is(tokens[i], "(") else i + 1
        if i < len(tokens):
            self.group(i)
        return self.found

    def group(self, i: int) -> int:
        """Walk the group opened at ``tokens[i]``; return the index after its closing brace."""
        tokens = self.tokens
        i += 1
        if _keyword(tokens[i]) == "SELECT":
            return self.subquery(i)
        while not _is(tokens[i], "}"):
            token = tokens[i]
            word = _keyword(token)
            if _is(token, "{"):
                i = self.group(i)
            elif word in ("OPTIONAL", "MINUS", "UNION"):
                i += 1
            elif word == "GRAPH":
                i += 2
            elif word == "SERVICE":
                i += 3 if _keyword(tokens[i + 1]) == "SILENT" else 2
                i = _skip_balanced(tokens, i)
            elif word == "FILTER":
                i = self.skip_constraint(i + 1)
            elif word == "BIND":
                i = _skip_balanced(tokens, i + 1)
            elif word == "VALUES":
                i += 1
                i = _skip_balanced(tokens, i) if _is(tokens[i], "(") else i + 1
                i = _skip_balanced(tokens, i)
            elif _is(token, "."):
                i += 1
            else:
                i = self.statement(i)
        return i + 1

    def subquery(self, i: int) -> int:
        """``{ SELECT … WHERE { … } modifiers }``: walk the inner WHERE group, skip the rest."""
        tokens = self.tokens
        while not _is(tokens[i], "{"):
            i = _skip_balanced(tokens, i) if _is(tokens[i], "(") else i + 1
        i = self.group(i)
        while not _is(tokens[i], "}"):
            i = _skip_balanced(tokens, i) if tokens[i].value in OPENERS and tokens[i].kind == "other" else i + 1
        return i + 1

    def skip_constraint(self, i: int) -> int:
        """Skip a FILTER's constraint; EXISTS groups inside are left as written on purpose."""
        tokens = self.tokens
        word = _keyword(tokens[i])
        if word == "NOT":
            i += 1
            word = _keyword(tokens[i])
        if word == "EXISTS":
            return _skip_balanced(tokens, i + 1)
        if _is(tokens[i], "("):
            return _skip_balanced(tokens, i)
        return _skip_balanced(tokens, i + 1)  # a function call: name, then its argument list

    def statement(self, i: int) -> int:
        """One ``subject predicate-object-list``; rewritten if it holds a top-level alternative."""
        tokens = self.tokens
        end = i
        while end < len(tokens):
            token = tokens[end]
            if token.kind == "other" and token.value in ("(", "["):
                end = _skip_balanced(tokens, end)
                continue
            if _is(token, ".") or _is(token, "}") or _is(token, "{") or _keyword(token) in GROUP_KEYWORDS:
                break
            end += 1
        try:
            replacement = self.rewritten_statement(tokens[i:end])
        except _Unsupported:
            replacement = None
        if replacement is not None:
            start, stop = tokens[i].start, tokens[end - 1].end
            lost_lines = self.text.count("\n", start, stop) - replacement.count("\n")
            self.found.append(_Edit(start, stop, replacement + "\n" * max(lost_lines, 0)))
        return end

    def rewritten_statement(self, part: list[Token]) -> str | None:
        if not any(_is(t, "|") for t in part):
            return None
        subject = part[0]
        if subject.kind not in ("var", "iri", "pname"):
            raise _Unsupported
        kept: list[str] = []
        unions: list[str] = []
        for entry in _split(part[1:], ";"):
            if not entry:
                continue
            verb_end = _Path(entry).verb_end()
            alternatives = _alternatives(entry[:verb_end])
            if alternatives is None:
                kept.append(self.span(entry))
                continue
            for obj in _split(entry[verb_end:], ","):
                if not obj or any(t.kind == "bnode" or (t.kind == "other" and t.value in OPENERS) for t in obj):
                    raise _Unsupported
                branches = [f"{{ {subject.value} {self.span(alt)} {self.span(obj)} }}" for alt in alternatives]
                unions.append(" UNION ".join(branches))
        if not unions:
            return None
        head = [f"{subject.value} {' ; '.join(kept)} ."] if kept else []
        return " ".join(head + unions)

    def span(self, part: list[Token]) -> str:
        return self.text[part[0].start:part[-1].end]


def _split(part: list[Token], separator: str) -> list[list[Token]]:
    """Split at ``separator`` outside brackets."""
    pieces: list[list[Token]] = [[]]
    depth = 0
    for token in part:
        value = token.value if token.kind == "other" else ""
        if value in OPENERS:
            depth += 1
        elif value in CLOSERS:
            depth -= 1
        if depth == 0 and value == separator:
            pieces.append([])
        else:
            pieces[-1].append(token)
    return pieces


class _Path:
    """Just enough of the SPARQL path grammar (rules 88–96) to find where a verb ends."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens

    def verb_end(self) -> int:
        if self.tokens[0].kind == "var":
            return 1
        end = self.alternative(0)
        if end >= len(self.tokens):
            raise _Unsupported  # a verb without an object
        return end

    def alternative(self, i: int) -> int:
        i = self.sequence(i)
        while i < len(self.tokens) and _is(self.tokens[i], "|"):
            i = self.sequence(i + 1)
        return i

    def sequence(self, i: int) -> int:
        i = self.element(i)
        while i < len(self.tokens) and _is(self.tokens[i], "/"):
            i = self.element(i + 1)
        return i

    def element(self, i: int) -> int:
        tokens = self.tokens
        if _is(tokens[i], "^"):
            i += 1
        token = tokens[i]
        if token.kind in ("iri", "pname") or (token.kind == "word" and token.value == "a"):
            i += 1
        elif _is(token, "!"):
            i = _skip_balanced(tokens, i + 1) if _is(tokens[i + 1], "(") else self.element(i + 1)
        elif _is(token, "("):
            i = self.alternative(i + 1)
            if not _is(tokens[i], ")"):
                raise _Unsupported
            i += 1
        else:
            raise _Unsupported
        if i < len(tokens) and tokens[i].kind == "other" and tokens[i].value in MODIFIERS:
            i += 1
        return i


def _alternatives(verb: list[Token]) -> list[list[Token]] | None:
    """The flattened top-level alternatives of a verb, or None if the verb is not an alternative."""
    while _is(verb[0], "(") and _skip_balanced(verb, 0) == len(verb):
        verb = verb[1:-1]
    parts = _split(verb, "|")
    if len(parts) < 2:
        return None
    flat: list[list[Token]] = []
    for part in parts:
        if not part:
            raise _Unsupported
        flat.extend(_alternatives(part) or [part])
    return flat
