"""Write a built store's snapshot and dumps in the background: ``python -m digiregion.store.dumper FOLDER``.

Started by the embedded store when a large store has no dumps yet, so that serving queries does not
wait for them (at ~1M triples the dumps take longer than loading the data). It runs at a lower CPU
priority, opens the store read-only next to the query workers and renames each file into place only
when it is complete (``loader.write_extras``), so a killed dumper leaves nothing half-written behind
and the next start simply begins again.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import pyoxigraph as ox

from ..dataset import DatasetInfo
from .loader import INFO_FILE, OXIGRAPH_DIR, write_extras


def main(argv: list[str]) -> int:
    folder = Path(argv[1])
    with contextlib.suppress(OSError):
        os.nice(10)
    info = DatasetInfo.from_json((folder / INFO_FILE).read_text(encoding="utf-8"))
    store = ox.Store.read_only(str(folder / OXIGRAPH_DIR))
    write_extras(store, folder, info)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
