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

from .query_tokens import OPENERS, keyword, punct, skip_balanced, source, split, tokens, where_group
from .sparql_guard import Token

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
    toks = tokens(text)
    if not _has_alternative(toks):
        return text
    try:
        edits = _Walker(text, toks).edits()
    except (_Unsupported, IndexError):
        return text
    for edit in sorted(edits, key=lambda e: e.start, reverse=True):
        text = text[:edit.start] + edit.text + text[edit.end:]
    return text


def _has_alternative(toks: list[Token]) -> bool:
    """A ``|`` that is not half of the ``||`` operator."""
    for n, token in enumerate(toks):
        if punct(token, "|"):
            before = toks[n - 1] if n else None
            after = toks[n + 1] if n + 1 < len(toks) else None
            glued = (before is not None and punct(before, "|") and before.end == token.start) or (
                after is not None and punct(after, "|") and after.start == token.end)
            if not glued:
                return True
    return False


class _Walker:
    """Walks the group graph patterns of one query and collects the statements to replace."""

    def __init__(self, text: str, tokens: list[Token]) -> None:
        self.text = text
        self.tokens = tokens
        self.found: list[_Edit] = []

    def edits(self) -> list[_Edit]:
        form, start = where_group(self.tokens)
        if form != "ASK" and start is not None:
            self.group(start)
        return self.found

    def group(self, i: int) -> int:
        """Walk the group opened at ``tokens[i]``; return the index after its closing brace."""
        tokens = self.tokens
        i += 1
        if keyword(tokens[i]) == "SELECT":
            return self.subquery(i)
        while not punct(tokens[i], "}"):
            token = tokens[i]
            word = keyword(token)
            if punct(token, "{"):
                i = self.group(i)
            elif word == "MINUS":  # which rows MINUS removes does not depend on multiplicity
                i = skip_balanced(tokens, i + 1)
            elif word in ("OPTIONAL", "UNION"):
                i += 1
            elif word == "GRAPH":
                i += 2
            elif word == "SERVICE":
                i += 3 if keyword(tokens[i + 1]) == "SILENT" else 2
                i = skip_balanced(tokens, i)
            elif word == "FILTER":
                i = self.skip_constraint(i + 1)
            elif word == "BIND":
                i = skip_balanced(tokens, i + 1)
            elif word == "VALUES":
                i += 1
                i = skip_balanced(tokens, i) if punct(tokens[i], "(") else i + 1
                i = skip_balanced(tokens, i)
            elif punct(token, "."):
                i += 1
            else:
                i = self.statement(i)
        return i + 1

    def subquery(self, i: int) -> int:
        """``{ SELECT … WHERE { … } modifiers }``: walk the inner WHERE group, skip the rest."""
        tokens = self.tokens
        while not punct(tokens[i], "{"):
            i = skip_balanced(tokens, i) if punct(tokens[i], "(") else i + 1
        i = self.group(i)
        while not punct(tokens[i], "}"):
            i = skip_balanced(tokens, i) if tokens[i].value in OPENERS and tokens[i].kind == "other" else i + 1
        return i + 1

    def skip_constraint(self, i: int) -> int:
        """Skip a FILTER's constraint; EXISTS groups inside are left as written on purpose."""
        tokens = self.tokens
        word = keyword(tokens[i])
        if word == "NOT":
            i += 1
            word = keyword(tokens[i])
        if word == "EXISTS":
            return skip_balanced(tokens, i + 1)
        if punct(tokens[i], "("):
            return skip_balanced(tokens, i)
        return skip_balanced(tokens, i + 1)  # a function call: name, then its argument list

    def statement(self, i: int) -> int:
        """One ``subject predicate-object-list``; rewritten if it holds a top-level alternative."""
        tokens = self.tokens
        end = i
        while end < len(tokens):
            token = tokens[end]
            if token.kind == "other" and token.value in ("(", "["):
                end = skip_balanced(tokens, end)
                continue
            if punct(token, ".") or punct(token, "}") or punct(token, "{") or keyword(token) in GROUP_KEYWORDS:
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
        if not any(punct(t, "|") for t in part):
            return None
        subject = part[0]
        if subject.kind not in ("var", "iri", "pname"):
            raise _Unsupported
        kept: list[str] = []
        unions: list[str] = []
        for entry in split(part[1:], ";"):
            if not entry:
                continue
            verb_end = _Path(entry).verb_end()
            alternatives = _alternatives(entry[:verb_end])
            if alternatives is None:
                kept.append(source(entry))
                continue
            for obj in split(entry[verb_end:], ","):
                if not obj or any(t.kind == "bnode" or (t.kind == "other" and t.value in OPENERS) for t in obj):
                    raise _Unsupported
                branches = [f"{{ {subject.value} {source(alt)} {source(obj)} }}" for alt in alternatives]
                unions.append(" UNION ".join(branches))
        if not unions:
            return None
        head = [f"{subject.value} {' ; '.join(kept)} ."] if kept else []
        return " ".join(head + unions)



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
        while i < len(self.tokens) and punct(self.tokens[i], "|"):
            i = self.sequence(i + 1)
        return i

    def sequence(self, i: int) -> int:
        i = self.element(i)
        while i < len(self.tokens) and punct(self.tokens[i], "/"):
            i = self.element(i + 1)
        return i

    def element(self, i: int) -> int:
        tokens = self.tokens
        if punct(tokens[i], "^"):
            i += 1
        token = tokens[i]
        if token.kind in ("iri", "pname") or (token.kind == "word" and token.value == "a"):
            i += 1
        elif punct(token, "!"):
            i = skip_balanced(tokens, i + 1) if punct(tokens[i + 1], "(") else self.element(i + 1)
        elif punct(token, "("):
            i = self.alternative(i + 1)
            if not punct(tokens[i], ")"):
                raise _Unsupported
            i += 1
        else:
            raise _Unsupported
        if i < len(tokens) and tokens[i].kind == "other" and tokens[i].value in MODIFIERS:
            i += 1
        return i


def _alternatives(verb: list[Token]) -> list[list[Token]] | None:
    """The flattened top-level alternatives of a verb, or None if the verb is not an alternative."""
    while punct(verb[0], "(") and skip_balanced(verb, 0) == len(verb):
        verb = verb[1:-1]
    parts = split(verb, "|")
    if len(parts) < 2:
        return None
    flat: list[list[Token]] = []
    for part in parts:
        if not part:
            raise _Unsupported
        flat.extend(_alternatives(part) or [part])
    return flat
