"""Token-level helpers shared by the query rewrites (``alternative_paths``, ``not_exists``, ``deviations``,
``federation``).

The rewrites work on the guard's lexer (``sparql_guard.scan``) rather than a full parser: they only
need to find group boundaries, statements and a few keywords, and they leave the text untouched
whenever they meet something they do not model.
"""

from __future__ import annotations

from urllib.parse import urljoin

from .sparql_guard import Token, scan

OPENERS = {"(": ")", "[": "]", "{": "}"}
CLOSERS = frozenset(OPENERS.values())
QUERY_FORMS = ("SELECT", "CONSTRUCT", "DESCRIBE", "ASK")


def tokens(text: str) -> list[Token]:
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


def punct(token: Token, value: str) -> bool:
    return token.kind == "other" and token.value == value


def keyword(token: Token) -> str:
    return token.value.upper() if token.kind == "word" else ""


def skip_balanced(toks: list[Token], i: int) -> int:
    """Index after the bracket that closes ``toks[i]`` (IndexError if it is never closed)."""
    depth = 0
    while True:
        value = toks[i].value if toks[i].kind == "other" else ""
        if value in OPENERS:
            depth += 1
        elif value in CLOSERS:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1


def split(part: list[Token], separator: str) -> list[list[Token]]:
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


def source(part: list[Token]) -> str:
    """The tokens as one line of query text: comments dropped, a space wherever the client had one.

    Copying the raw span would carry a ``# comment`` into a line where it swallows what follows.
    """
    out: list[str] = []
    previous: Token | None = None
    for token in part:
        if previous is not None and previous.end != token.start:
            out.append(" ")
        out.append(token.value)
        previous = token
    return "".join(out)


def where_group(toks: list[Token]) -> tuple[str, int | None]:
    """The query form and the index of the WHERE group's opening brace (None if there is none)."""
    i = 0
    form = ""
    while i < len(toks) and not form:
        word = keyword(toks[i])
        if word in QUERY_FORMS:
            form = word
        i += 1
    if not form:
        return "", None
    if form == "CONSTRUCT" and i < len(toks) and punct(toks[i], "{"):
        i = skip_balanced(toks, i)  # the template holds no patterns
    while i < len(toks) and not punct(toks[i], "{"):
        i = skip_balanced(toks, i) if punct(toks[i], "(") else i + 1
    return form, (i if i < len(toks) else None)


def prologue(toks: list[Token], text: str, base_iri: str | None) -> tuple[dict[str, str], str]:
    """The query's ``PREFIX`` map and its prologue as text (with ``BASE <base_iri>`` first, when given)."""
    prefixes: dict[str, str] = {}
    parts = [f"BASE <{base_iri}>"] if base_iri else []
    base = base_iri
    i = 0
    while i < len(toks):
        word = keyword(toks[i])
        if word == "PREFIX" and i + 2 < len(toks) and toks[i + 2].kind == "iri":
            prefixes[toks[i + 1].value.split(":", 1)[0]] = resolve(toks[i + 2], prefixes, base) or ""
            parts.append(text[toks[i].start:toks[i + 2].end])
            i += 3
        elif word == "BASE" and i + 1 < len(toks) and toks[i + 1].kind == "iri":
            base = resolve(toks[i + 1], prefixes, base)
            parts.append(text[toks[i].start:toks[i + 1].end])
            i += 2
        else:
            break
    return prefixes, "\n".join(parts)


def resolve(token: Token, prefixes: dict[str, str], base: str | None) -> str | None:
    """The absolute IRI an ``<iri>`` or ``prefix:name`` token stands for (None: not an IRI, or unknown prefix)."""
    if token.kind == "iri":
        iri = token.value[1:-1]
        return urljoin(base, iri) if base and ":" not in iri.split("/", 1)[0] else iri
    if token.kind == "pname":
        prefix, _, local = token.value.partition(":")
        return prefixes[prefix] + local if prefix in prefixes else None
    return None
