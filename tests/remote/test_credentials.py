"""The engine's password comes from the environment only and never appears in output, logs or errors."""

from __future__ import annotations

from tests.web.conftest import FIXTURE_DATA


def test_password_not_in_load_output(virtuoso, fixtures_loaded):
    result = virtuoso.load("--graph", fixtures_loaded, "--force", str(FIXTURE_DATA))
    assert result.returncode == 0
    assert virtuoso.password not in result.stdout + result.stderr


def test_wrong_password_is_a_clear_error_without_the_password(virtuoso):
    wrong = virtuoso.password + "-wrong"
    result = virtuoso.load("--graph", "urn:digiregion:test:denied", "--force", str(FIXTURE_DATA),
                           env={"DIGIREGION_STORE_PASSWORD": wrong})
    assert result.returncode == 3
    assert "DIGIREGION_STORE_PASSWORD" in result.stderr and "bisherigen Daten" in result.stderr
    assert wrong not in result.stdout + result.stderr and virtuoso.password not in result.stderr


def test_credentials_in_the_url_are_refused(virtuoso):
    url = virtuoso.sparql.replace("http://", f"http://dba:{virtuoso.password}@")
    result = virtuoso.load("--graph", "urn:digiregion:test:url", "--force", str(FIXTURE_DATA))
    assert result.returncode == 0  # sanity: the same load works with the environment
    import subprocess
    import sys

    refused = subprocess.run([sys.executable, "-m", "digiregion.cli", "load", "--store", url, "--force",
                              str(FIXTURE_DATA)], capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "DIGIREGION_STORE_USER" in refused.stderr
    assert virtuoso.password not in refused.stderr + refused.stdout


def test_password_not_in_server_logs(virtuoso, served):
    served.get("/sparql", params={"query": "SELECT * WHERE { ?s ?p }"})  # an error path too
    served.get("/kommune/05766020")
    log = (served.store_dir.parent / "server.log").read_text(errors="replace")
    assert "Uvicorn running" in log
    assert virtuoso.password not in log
