"""Fixtures for the validator tests: the real console script and small files written per test."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PREFIXES = """\
@prefix dr: <https://w3id.org/digiregion/ontology#> .
@prefix schema: <https://schema.org/> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@base <https://w3id.org/digiregion/lippe/> .
"""


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    def json(self) -> dict:
        return json.loads(self.stdout)


def _executable() -> list[str]:
    script = shutil.which("digiregion")
    return [script] if script else [sys.executable, "-m", "digiregion.cli"]


@pytest.fixture
def validate():
    """Run ``digiregion validate ARGS`` as a user would, returning exit code and output."""

    def run(*args: str | Path) -> Run:
        proc = subprocess.run([*_executable(), "validate", *map(str, args)], capture_output=True, text=True,
                              timeout=300, cwd=REPO)
        return Run(proc.returncode, proc.stdout, proc.stderr)

    return run


@pytest.fixture
def contribution(tmp_path):
    """Write a Turtle contribution (with the usual prefixes) and return its path."""

    def write(body: str, name: str = "beitrag.ttl", prefixes: bool = True) -> Path:
        path = tmp_path / name
        path.write_text((PREFIXES if prefixes else "") + body, encoding="utf-8")
        return path

    return write


def line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")
