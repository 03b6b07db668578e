"""Complete a built store in the background: ``python -m digiregion.store.dumper FOLDER``.

Started by the embedded store when a large store lacks its statistics or its dumps, so that serving
queries waits for neither (at ~1M triples the statistics take ~2.6 s and the dumps longer than loading
the data). It opens the store read-only next to the query workers. The statistics run at normal CPU
priority (VoID, the home page and the dataset's self-description wait for them: at a lower one they
came seconds later, behind the fork server loading the in-memory copy); the dumps at a lower one.

Order: first the VoID statistics and the fragment index (``loader.complete_statistics``), because VoID,
the home page and fast resource pages wait for them; then one line ``STATISTICS_READY`` on stdout, which
the embedded store reads from the pipe to learn about it at once (``EmbeddedStore._write_extras``);
then the snapshot and the dumps (``loader.write_extras``). Every file is renamed into place only when
it is complete and ``dataset.json`` is replaced atomically, so a killed dumper leaves nothing
half-written behind and the next start simply does what is still missing.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import pyoxigraph as ox

from ..dataset import DatasetInfo
from .loader import INFO_FILE, OXIGRAPH_DIR, BuiltStore, complete_statistics, remove_stale_partials, write_extras

STATISTICS_READY = "statistics-ready"
"""The line written to stdout once ``dataset.json`` has the statistics and the fragment index exists."""


def main(argv: list[str]) -> int:
    folder = Path(argv[1])
    remove_stale_partials(folder)  # what an earlier, killed dumper left half-written
    built = BuiltStore(folder, DatasetInfo.from_json((folder / INFO_FILE).read_text(encoding="utf-8")))
    store = ox.Store.read_only(str(folder / OXIGRAPH_DIR))
    info = built.info if built.statistics_ready else complete_statistics(store, folder, built.info)
    sys.stdout.write(STATISTICS_READY + "\n")
    sys.stdout.flush()
    with contextlib.suppress(OSError):
        os.nice(10)
    write_extras(store, folder, info)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
