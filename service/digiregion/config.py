"""Every setting of digiregion in one place.

Precedence, lowest first: built-in defaults → optional TOML config file (``--config`` or
``DIGIREGION_CONFIG``) → environment variables ``DIGIREGION_<NAME>`` → command-line flags. One
frozen ``Settings`` object is built at start-up and handed down explicitly; no module reads the
environment on its own, so tests can build any configuration without monkeypatching.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from .resources import default_data_dir, ontology_dir, shapes_dir

ENV_PREFIX = "DIGIREGION_"

DEFAULT_BASE_IRI = "https://w3id.org/digiregion/lippe/"
"""The uriSpace of the Lippe dataset: every IRI below it dereferences on the server."""

ONTOLOGY_NAMESPACE = "https://w3id.org/digiregion/ontology#"
ONTOLOGY_IRI = "https://w3id.org/digiregion/ontology"
SHAPES_IRI = "https://w3id.org/digiregion/shapes"


class ConfigError(ValueError):
    """A setting has a value digiregion cannot use; the message names the setting."""


@dataclass(frozen=True)
class Settings:
    """The complete configuration of one digiregion process."""

    host: str = "127.0.0.1"
    port: int = 8000
    data: tuple[Path, ...] = ()
    """RDF files or folders to publish; empty means ontology + shapes + the Lippe data."""
    base_iri: str = DEFAULT_BASE_IRI
    public_url: str | None = None
    """Where clients reach the service (for links in VoID/DCAT); default http://host:port/."""
    store: str = "embedded"
    """``embedded`` (pyoxigraph) or the URL of a remote SPARQL 1.1 endpoint."""
    store_graph: str | None = None
    """Remote store: the named graph that holds the dataset's default graph (default: ``base_iri``)."""
    store_update_url: str | None = None
    """Remote store: SPARQL Update endpoint for ``load`` (Virtuoso: derived, ``…/sparql-auth``)."""
    store_graph_store_url: str | None = None
    """Remote store: Graph Store Protocol endpoint for ``load`` (Virtuoso: derived); unset: INSERT DATA."""
    store_bulk_dir: str | None = None
    """Remote store, Virtuoso: ``load`` writes files here and has the engine's bulk loader read them instead of
    uploading through the Graph Store Protocol; the engine's process must be able to read the folder."""
    store_bulk_engine_dir: str | None = None
    """The same folder as the engine sees it, when that differs (a container's mount point)."""
    store_engine: str = "auto"
    """Remote store: ``auto`` (detected from the Server header), ``virtuoso`` or ``generic``."""
    store_auth: str = "auto"
    """Remote store: HTTP auth scheme for the credentials (``auto``, ``basic``, ``digest``).
    The credentials themselves come only from ``DIGIREGION_STORE_USER`` / ``DIGIREGION_STORE_PASSWORD``."""
    store_refresh: float = 10.0
    """Remote store: seconds between checks whether a ``load`` changed the data (new ETags, VoID)."""
    store_connections: int = 0
    """Remote store: queries the service has in the engine at once (more wait for a free one, up to their
    deadline); 0: two per core of this machine, at least 4. Measured with Virtuoso on the same 2 cores: 4
    gave ~10 % more throughput with 8 clients than 8, which had the engine spend more CPU per query."""
    store_dir: Path | None = None
    """Folder of the persisted embedded store; a restart reuses it when the data is unchanged."""
    workers: int = 2
    """Query worker processes of the embedded store (one per core is a good start)."""
    in_memory: bool = True
    """Embedded store: each worker answers from an in-memory copy once loaded (5–20× faster joins, sorts and
    aggregates than the on-disk store; costs about 300 MB per worker and million triples)."""
    access_log: bool = False
    """Log every request (uvicorn's access log); off by default, it costs ~0.3 ms per request."""
    query_timeout: float = 10.0
    """Seconds a query may run before its worker is stopped and the client gets an error."""
    max_result_rows: int = 100_000
    max_result_bytes: int = 256 * 1024 * 1024
    max_query_length: int = 100_000
    max_body_bytes: int = 1024 * 1024
    allowed_service_endpoints: tuple[str, ...] = ()
    """SPARQL endpoints that SERVICE may call (federation); everything else is refused."""
    lang: str = "de"
    title: str = "Digitale Region Lippe"

    def with_overrides(self, values: Mapping[str, Any]) -> Settings:
        """Return a copy with the given (already typed or raw string) values applied."""
        converted = {name: _convert(name, value) for name, value in values.items() if value is not None}
        unknown = set(converted) - {f.name for f in fields(self)}
        if unknown:
            raise ConfigError(f"Unbekannte Einstellung / unknown setting: {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **converted)

    @property
    def data_paths(self) -> tuple[Path, ...]:
        """The files and folders actually published."""
        if self.data:
            return self.data
        return (ontology_dir(), shapes_dir(), default_data_dir())

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}/").rstrip("/") + "/"


_TYPES: dict[str, Any] = {f.name: f.type for f in fields(Settings)}


def _convert(name: str, value: Any) -> Any:
    kind = _TYPES.get(name)
    if kind is None:
        return value
    try:
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        if kind == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
                raise ValueError(value)
            return text in ("1", "true", "yes", "on")
        if kind == "tuple[Path, ...]":
            items = value.split(os.pathsep) if isinstance(value, str) else value
            return tuple(Path(v) for v in items if str(v))
        if kind == "tuple[str, ...]":
            items = value.split(",") if isinstance(value, str) else value
            return tuple(str(v).strip() for v in items if str(v).strip())
        if kind == "Path | None":
            return Path(value) if value else None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"Ungültiger Wert für {name!r} / invalid value for {name!r}: {value!r}") from exc
    return value


def from_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """Collect ``DIGIREGION_*`` variables as raw setting values (``DIGIREGION_QUERY_TIMEOUT=5``)."""
    names = {f.name for f in fields(Settings)}
    found = {}
    for key, value in environ.items():
        if key.startswith(ENV_PREFIX):
            name = key[len(ENV_PREFIX) :].lower()
            if name in names:
                found[name] = value
    return found


def from_file(path: Path) -> dict[str, Any]:
    """Read settings from a TOML file (top-level keys named like the settings)."""
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"Konfigurationsdatei nicht lesbar / config file unreadable: {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"Konfigurationsdatei fehlerhaft / invalid config file: {path}: {exc}") from exc


def load_settings(cli_values: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None,
                  config_file: Path | None = None) -> Settings:
    """Build the settings from defaults, config file, environment and CLI values, in that order."""
    environ = os.environ if environ is None else environ
    config_file = config_file or (Path(environ["DIGIREGION_CONFIG"]) if environ.get("DIGIREGION_CONFIG") else None)
    settings = Settings()
    if config_file:
        settings = settings.with_overrides(from_file(config_file))
    settings = settings.with_overrides(from_environment(environ))
    return settings.with_overrides(dict(cli_values or {}))

