"""Complete query results kept by request, bounded in bytes, least recently used out first.

Why: the data never changes while a store serves it (or the key carries the data version), so a
repeated query — dashboards, example queries, crawlers — is answered without touching the engine.
Both backends share this one cache so their eviction rules cannot drift apart.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable


class ResultCache:
    def __init__(self, entry_bytes: int, total_bytes: int) -> None:
        self.entry_bytes = entry_bytes
        """Results larger than this are not kept (one huge result must not evict everything else)."""
        self.total_bytes = total_bytes
        self._entries: OrderedDict[Hashable, tuple[str, bytes]] = OrderedDict()
        self._size = 0

    def get(self, key: Hashable) -> tuple[str, bytes] | None:
        """The (query form, serialised body) stored for ``key``, marking it recently used."""
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
        return found

    def put(self, key: Hashable, form: str, body: bytes) -> None:
        if len(body) > self.entry_bytes:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self._size -= len(old[1])
        self._entries[key] = (form, body)
        self._size += len(body)
        while self._size > self.total_bytes and self._entries:
            _, (_, evicted) = self._entries.popitem(last=False)
            self._size -= len(evicted)

    def clear(self) -> None:
        self._entries.clear()
        self._size = 0
