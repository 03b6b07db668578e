"""Known wrong answers of remote engines: recognise the query shapes and refuse them with a clear 422.

A public endpoint must never serve a known-wrong answer as if it were right. Measured on Virtuoso
7.2.5 (Debian ``virtuoso-opensource``; reproduced by ``tests/remote/test_deviations.py``):

* **Paths with ``?``, ``*`` or ``+`` inside ``EXISTS`` / ``NOT EXISTS`` / ``MINUS``** are evaluated
  wrongly: ``FILTER NOT EXISTS { ?s skos:broader? ex:c }`` never matches (every row survives),
  ``FILTER EXISTS { … }`` never matches, ``*`` and ``+`` drop the longer chains. The same path
  outside the negation is right, as are plain, sequence, inverse and alternative paths inside it.
* **Two transitive paths in one group pattern** were measured to return wrong counts on the
  national-scale benchmark data (1 instead of 9). On small hand-countable data the engine was right,
  so the exact trigger is not known; the rule is therefore conservative: two or more ``*``/``+``
  paths in the same ``{ … }`` group are refused on Virtuoso.

* **An alternative naming the same property twice** (``p|p``, ``rdf:type|a``) is collapsed into one
  property, so each match comes back once instead of once per alternative (SPARQL 1.1 §18.4; found by
  ``tests/web/test_sparql_clients.py::test_alternative_paths_have_bag_semantics``). Alternatives of
  different properties are evaluated as the specification says.

* **geo:wktLiteral** values are converted to Virtuoso's own geometry type on load (datatype
  ``virtrdf:Geometry``, coordinates rounded to single precision, WKT with a CRS IRI rejected). The
  Virtuoso profile therefore stores them under a private datatype and maps it back in every answer
  (``engines.EngineProfile.stored_datatypes``); a query that names ``wktLiteral`` is refused, since
  the engine would compare against the private datatype.

A cheap rewrite exists only for the simplest case (``p?`` with bound ends as a ``UNION``), but doing
it on a lexer rather than a parser would risk a *new* wrong answer; refusing is the honest choice.
The message says why and how to rephrase (German first, then English). The embedded store answers
all of these queries correctly.

The check is a lexer pass over the guard's tokens (``sparql_guard.scan``): microseconds per query, and
none at all for a query without ``|`` and without a character that could be a path modifier.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .base import StoreError
from .query_tokens import prologue, resolve, skip_balanced
from .sparql_guard import VARNAME_CHAR, Token, scan

MODIFIERS = frozenset("?*+")
TRANSITIVE = frozenset("*+")
NEGATING = frozenset({"EXISTS", "MINUS"})


class EngineDeviation(StoreError):
    """The remote engine is known to answer this query shape wrongly; refused instead of served."""

    status = 422
    code = "engine-deviation"


@dataclass(frozen=True)
class Deviation:
    code: str
    message: str


@dataclass
class _Group:
    negated: bool
    transitive: int = 0


def path_modifiers(tokens: list[Token]) -> list[int]:
    """Indexes of ``?``/``*``/``+`` tokens that modify a property path (not arithmetic, not ``SELECT *``)."""
    found = []
    for i, token in enumerate(tokens):
        if token.kind != "other" or token.value not in MODIFIERS or i == 0:
            continue
        before = tokens[i - 1]
        if before.kind in ("iri", "pname"):
            datatype = i >= 3 and tokens[i - 2].value == "^" and tokens[i - 3].value == "^"
            if not datatype:
                found.append(i)
        elif (before.kind == "word" and before.value == "a") or (before.value == ")" and _is_path_group(tokens, i - 1)):
            found.append(i)
    return found


def _is_path_group(tokens: list[Token], close: int) -> bool:
    """A ``( … )`` holding only IRIs, prefixed names, ``a`` and path operators is a path, not an expression."""
    depth = 0
    for j in range(close, -1, -1):
        value = tokens[j].value
        if value == ")":
            depth += 1
        elif value == "(":
            depth -= 1
            if depth == 0:
                inner = tokens[j + 1:close]
                return bool(inner) and all(
                    t.kind in ("iri", "pname") or t.value in ("a", "/", "|", "^", "!", "(", ")", "?", "*", "+")
                    for t in inner) and (j == 0 or tokens[j - 1].kind not in ("word", "iri", "pname"))
        if tokens[j].kind in ("var", "string"):
            return False
    return False


_MAY_MODIFY_PATH = re.compile(rf"[*+]|\?(?!{VARNAME_CHAR})")
"""Where a ``?``/``*``/``+`` path modifier could be: a ``?`` followed by a name character is always the start of
a variable for the lexer (``sparql_guard``), never a modifier; anything else may be one (false alarms only
cost the lexer pass)."""


def virtuoso_deviations(text: str) -> Deviation | None:
    """The first known Virtuoso deviation the query would hit, or None."""
    if "wktLiteral" in text:
        return Deviation("wkt-datatype", WKT)
    may_modify = _MAY_MODIFY_PATH.search(text) is not None
    if "|" not in text and not may_modify:
        return None  # neither an alternative nor a path modifier: no rule applies, nothing to lex
    tokens = scan(text)
    if "|" in text and _repeated_alternative(tokens):
        return Deviation("repeated-alternative", REPEATED_ALTERNATIVE)
    if not may_modify:
        return None  # the other rules are about path modifiers, and the text has no place for one
    modifiers = set(path_modifiers(tokens))
    stack: list[_Group] = []
    for i, token in enumerate(tokens):
        if token.value == "{" and token.kind == "other":
            opener = tokens[i - 1].value.upper() if i and tokens[i - 1].kind == "word" else ""
            negated = opener in NEGATING or bool(stack and stack[-1].negated)
            stack.append(_Group(negated))
        elif token.value == "}" and token.kind == "other":
            if stack:
                stack.pop()
        elif i in modifiers and stack:
            group = stack[-1]
            if group.negated:
                return Deviation("path-in-negation", _path_in_negation(token.value))
            if token.value in TRANSITIVE:
                group.transitive += 1
                if group.transitive >= 2:
                    return Deviation("two-transitive-paths", TWO_TRANSITIVE)
    return None


def _repeated_alternative(tokens: list[Token]) -> bool:
    """An alternative path naming the same property twice (``p|p``, ``rdf:type|a``, ``^p|^p``)."""
    prefixes, _ = prologue(tokens, "", None)

    def element(n: int) -> tuple[str, int] | None:
        """The property (``^`` for inverse) starting at ``tokens[n]`` and the index after it."""
        inverse = n < len(tokens) and tokens[n].kind == "other" and tokens[n].value == "^"
        n += inverse
        if n >= len(tokens):
            return None
        term = tokens[n]
        if term.kind == "word" and term.value == "a":
            name = RDF_TYPE
        elif term.kind in ("iri", "pname"):
            name = resolve(term, prefixes, None) or term.value
        else:
            return None
        return ("^" if inverse else "") + name, n + 1

    def is_bar(n: int) -> bool:
        return n < len(tokens) and tokens[n].kind == "other" and tokens[n].value == "|"

    # Chains are read left to right. A chain's first element ends just before a bar and is one token, or two
    # with ``^``, so only the two positions before each bar not yet inside a chain can start one.
    n = 0
    for bar in [i for i, token in enumerate(tokens) if token.value == "|" and token.kind == "other"]:
        for start in range(max(n, bar - 2), bar):
            first = element(start)
            if first is None or not is_bar(first[1]):
                continue
            seen = [first[0]]
            end = first[1]
            while is_bar(end) and (nxt := element(end + 1)) is not None:
                seen.append(nxt[0])
                end = nxt[1]
            if len(set(seen)) < len(seen):
                return True
            n = end
            break
    return False


RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
REPEATED_ALTERNATIVE = (
    "Die angeschlossene Datenbank (Virtuoso) fasst eine Pfad-Alternative, die dieselbe Eigenschaft mehrmals "
    "nennt (z. B. 'p|p' oder 'rdf:type|a'), zu einer zusammen und liefert dann zu wenige Zeilen (SPARQL 1.1 "
    "§18.4: jede Alternative zählt); die Abfrage wird deshalb nicht ausgeführt. Bitte jede Eigenschaft nur "
    "einmal nennen oder '{ … } UNION { … }' schreiben. / The connected engine (Virtuoso) collapses an "
    "alternative path that names the same property more than once (e.g. 'p|p' or 'rdf:type|a') and then "
    "returns too few rows (SPARQL 1.1 §18.4: every alternative counts), so this query is not run. Please name "
    "each property once or write '{ … } UNION { … }'.")


def _path_in_negation(modifier: str) -> str:
    return (
        f"Die angeschlossene Datenbank (Virtuoso) beantwortet Pfade mit '{modifier}' innerhalb von EXISTS, "
        "NOT EXISTS oder MINUS nachweislich falsch; die Abfrage wird deshalb nicht ausgeführt. Bitte den Pfad "
        "ausschreiben (z. B. '{ ?s p ?o } UNION { … }' oder feste Stufen mit VALUES) oder den eingebetteten "
        f"Store verwenden. / The connected engine (Virtuoso) is known to answer paths with '{modifier}' inside "
        "EXISTS, NOT EXISTS or MINUS wrongly, so this query is not run. Please spell the path out (e.g. "
        "'{ ?s p ?o } UNION { … }' or fixed steps with VALUES) or use the embedded store.")


TWO_TRANSITIVE = (
    "Die angeschlossene Datenbank (Virtuoso) liefert bei zwei transitiven Pfaden (* oder +) in derselben "
    "Gruppe nachweislich falsche Anzahlen; die Abfrage wird deshalb nicht ausgeführt. Bitte einen der Pfade "
    "in eine eigene Unterabfrage ({ SELECT … }) verlegen oder den eingebetteten Store verwenden. / The "
    "connected engine (Virtuoso) is known to return wrong counts for two transitive paths (* or +) in the "
    "same group, so this query is not run. Please move one path into its own subquery ({ SELECT … }) or use "
    "the embedded store.")


WKT = (
    "Die angeschlossene Datenbank (Virtuoso) verändert geo:wktLiteral-Werte beim Speichern; digiregion legt sie "
    "dort unter einem eigenen Datentyp ab und gibt sie unverändert aus, aber Abfragen, die geo:wktLiteral "
    "selbst nennen, würden falsch beantwortet und werden deshalb nicht ausgeführt. Bitte z. B. mit "
    "STRSTARTS(STR(?wkt), 'POLYGON') arbeiten oder den eingebetteten Store verwenden. / The connected engine "
    "(Virtuoso) alters geo:wktLiteral values when storing them; digiregion stores them under a private "
    "datatype and returns them unchanged, but queries that name geo:wktLiteral themselves would be answered "
    "wrongly and are not run. Please use e.g. STRSTARTS(STR(?wkt), 'POLYGON') or the embedded store.")


def refuse_known_deviation(check, text: str) -> None:
    """Raise ``EngineDeviation`` when ``check`` (a profile's detector) recognises the query."""
    deviation = check(text)
    if deviation is not None:
        raise EngineDeviation(deviation.message)


def empty_unknown_graphs(text: str, base_iri: str | None, named_graphs: set[str]) -> str:
    """Replace ``GRAPH <g> { … }`` by ``{ FILTER(false) }`` when ``g`` is not a named graph of the dataset.

    Exact (both yield no solutions), and necessary: Virtuoso 7.2.5 answers ``ASK { GRAPH <g> { … } }``
    with *true* when ``g`` is outside the ``named-graph-uri`` set the service pins (SELECT is right).
    """
    if "graph" not in text.lower():  # exact shortcut: no GRAPH keyword, nothing to rewrite
        return text
    tokens = scan(text)
    prefixes, _ = prologue(tokens, text, base_iri)
    spans = []
    i = 0
    while i < len(tokens) - 2:
        token = tokens[i]
        if token.kind == "word" and token.value.upper() == "GRAPH" and tokens[i + 2].value == "{":
            graph = resolve(tokens[i + 1], prefixes, base_iri)
            if tokens[i + 1].kind in ("iri", "pname") and graph not in named_graphs:
                try:
                    after = skip_balanced(tokens, i + 2)
                except IndexError:  # never closed: the engine reports the syntax error on the client's text
                    break
                spans.append((token.start, tokens[after - 1].end))
                i = after
                continue
        i += 1
    for start, end in reversed(spans):
        text = text[:start] + "{ FILTER(false) }" + text[end:]
    return text
