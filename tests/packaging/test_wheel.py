"""``pip install`` without a checkout must still validate and serve: the wheel carries the ontology,
the shapes and the region data as package data."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_wheel_contains_ontology_shapes_and_data(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), str(REPO)],
                   check=True, timeout=600)
    wheel = next(tmp_path.glob("digiregion-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "digiregion/_resources/ontology/digiregion.ttl" in names
    assert "digiregion/_resources/shapes/digiregion-shapes.ttl" in names
    assert "digiregion/_resources/data/lippe/territorium.ttl" in names
    assert any(n.startswith("digiregion/_resources/data/lippe/projekte/") for n in names)
    assert "digiregion/cli.py" in names
    assert any(n.startswith("digiregion/web/templates/") for n in names)
