"""Deadlines and result caps on a server configured with a 1.5 s timeout and a 4 KiB / 20-triple cap.

No timed assertions: the tests check *what* the client gets (a clear error, then normal service), not
how fast.
"""

from __future__ import annotations

import concurrent.futures

SLOW = "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n2 ?o }"


def test_slow_query_is_cut_and_the_next_one_works(strict_server):
    response = strict_server.get("/sparql", params={"query": SLOW})
    assert response.status_code == 504
    assert "Zeitlimit" in response.text and "time limit" in response.text
    for _ in range(3):  # the killed worker is replaced; the others keep serving
        ok = strict_server.get("/sparql", params={"query": "ASK { ?s ?p ?o }"})
        assert ok.status_code == 200 and ok.json()["boolean"] is True


def test_slow_query_does_not_block_other_clients(strict_server):
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        slow = pool.submit(strict_server.get, "/sparql", params={"query": SLOW + " # other"})
        fast = strict_server.get("/sparql", params={"query": "ASK { ?s ?p ?o } # fast"})
        assert fast.status_code == 200
        assert slow.result().status_code == 504


def test_result_size_cap_is_a_clear_error_not_a_truncated_200(strict_server):
    response = strict_server.get("/sparql", params={"query": "SELECT * { ?s ?p ?o }"})
    assert response.status_code == 422
    assert "LIMIT" in response.text and "/dumps/" in response.text
    graph = strict_server.get("/sparql", params={"query": "CONSTRUCT WHERE { ?s ?p ?o }", "format": "nt"})
    assert graph.status_code == 422
    small = strict_server.get("/sparql", params={"query": "SELECT * { ?s ?p ?o } LIMIT 2"})
    assert small.status_code == 200 and len(small.json()["results"]["bindings"]) == 2
