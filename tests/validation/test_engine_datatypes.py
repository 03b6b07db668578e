"""The fast engine's own lexical checks agree with rdflib (and so with pyshacl) on well-formedness."""

from __future__ import annotations

import pytest
import rdflib

from digiregion.validation.engine import XSD, _ill_typed

LEXICALS = ["0", "7", "-3", "+12", "007", "1.5", "1.", ".5", "-0.0", "1e3", "1E-2", "abc", "", " 1", "1 ",
            "2021", "0000", "99999", "2021-01", "2021-13", "2021-00", "2021-1", "2021-01-31", "2021-02-30",
            "2024-02-29", "2023-02-29", "0000-01-01", "2021-1-01", "2021-01-01Z", "2021-01-01+02:00", "true",
            "false", "TRUE", "1", "-", "+", "NaN", "INF"]
DATATYPES = ["integer", "decimal", "gYear", "gYearMonth", "date", "boolean"]


@pytest.mark.filterwarnings("ignore:Parsing weird boolean")
@pytest.mark.parametrize("datatype", DATATYPES)
def test_ill_typed_agrees_with_rdflib(datatype):
    for lexical in LEXICALS:
        expected = bool(rdflib.Literal(lexical, datatype=rdflib.URIRef(XSD + datatype)).ill_typed)
        assert _ill_typed(lexical, XSD + datatype) == expected, (lexical, datatype)
