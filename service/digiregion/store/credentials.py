"""Credentials for a remote SPARQL engine: from the environment only, never shown.

Why a separate object instead of two more settings: ``Settings`` may be printed, put into a config
file or passed on a command line; a password must be none of these. ``Credentials`` is read from
``DIGIREGION_STORE_USER`` / ``DIGIREGION_STORE_PASSWORD`` by the CLI and handed down explicitly; its
``repr`` masks the password, so an accidental log line or traceback does not leak it.
"""

from __future__ import annotations

import base64
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

USER_VARIABLE = "DIGIREGION_STORE_USER"
PASSWORD_VARIABLE = "DIGIREGION_STORE_PASSWORD"


@dataclass(frozen=True)
class Credentials:
    """User and password for the remote engine (both empty: anonymous)."""

    user: str = ""
    password: str = field(default="", repr=False)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Credentials:
        return cls(environ.get(USER_VARIABLE, ""), environ.get(PASSWORD_VARIABLE, ""))

    def __bool__(self) -> bool:
        return bool(self.user)

    def __repr__(self) -> str:
        return f"Credentials(user={self.user!r}, password={'***' if self.password else ''!r})"

    def httpx_auth(self, scheme: str = "auto") -> httpx.Auth | None:
        """An httpx auth for writes (Graph Store Protocol, SPARQL Update); ``None`` when anonymous."""
        if not self:
            return None
        if scheme == "basic":
            return httpx.BasicAuth(self.user, self.password)
        if scheme == "digest":
            return httpx.DigestAuth(self.user, self.password)
        return ChallengeAuth(self.user, self.password)


class ChallengeAuth(httpx.Auth):
    """Answer whatever the engine asks for: Digest (Virtuoso) or Basic (Fuseki, GraphDB).

    Nothing is sent before the server challenges, so the credentials never travel to an endpoint
    that does not want them.
    """

    def __init__(self, user: str, password: str) -> None:
        self._user = user
        self._password = password

    def __repr__(self) -> str:
        return "ChallengeAuth(***)"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        response = yield request
        if response.status_code != 401:
            return
        challenges = [c.strip().lower() for c in response.headers.get_list("www-authenticate")]
        if any(c.startswith("digest") for c in challenges):
            yield from httpx.DigestAuth(self._user, self._password).auth_flow(request)
        elif any(c.startswith("basic") for c in challenges):
            token = base64.b64encode(f"{self._user}:{self._password}".encode()).decode()
            request.headers["Authorization"] = f"Basic {token}"
            yield request


def refuse_userinfo(url: str) -> None:
    """A URL with ``user:password@`` would put the secret on command lines and into logs: refuse it."""
    if urlsplit(url).username is not None:
        raise ValueError(
            "Zugangsdaten gehören nicht in die URL; bitte DIGIREGION_STORE_USER und DIGIREGION_STORE_PASSWORD "
            "setzen. / Credentials must not be part of the URL; set DIGIREGION_STORE_USER and "
            "DIGIREGION_STORE_PASSWORD instead.")
