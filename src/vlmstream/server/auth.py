"""Bearer API tokens: every mutating endpoint and every result stream needs one when the
server has any. Missing token: 401; wrong token: 403 (WebSocket: the same HTTP status on the
handshake; gRPC: UNAUTHENTICATED / PERMISSION_DENIED)."""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass

from fastapi import HTTPException, Request, WebSocket


class AuthError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class TokenAuth:
    tokens: tuple[str, ...]

    @property
    def enabled(self) -> bool:
        return bool(self.tokens)

    def check(self, authorization: str | None, query_token: str | None = None) -> None:
        """Raise AuthError unless a configured token came in the header or (for browser
        WebSockets, which cannot set headers) the ``token`` query parameter."""
        if not self.enabled:
            return
        token = query_token
        if authorization:
            scheme, _, value = authorization.partition(" ")
            if scheme.lower() != "bearer" or not value.strip():
                raise AuthError(401, "Authorization header must be 'Bearer TOKEN'")
            token = value.strip()
        if not token:
            raise AuthError(401, "this server needs an API token: send 'Authorization: "
                                 "Bearer TOKEN' (or ?token= on WebSockets)")
        if not any(hmac.compare_digest(token.encode(), t.encode()) for t in self.tokens):
            raise AuthError(403, "API token not accepted")

    async def http(self, request: Request) -> None:
        """FastAPI dependency for REST routes."""
        try:
            self.check(request.headers.get("authorization"))
        except AuthError as e:
            headers = {"WWW-Authenticate": "Bearer"} if e.status == 401 else None
            raise HTTPException(e.status, e.message, headers=headers) from None

    def websocket(self, ws: WebSocket) -> AuthError | None:
        try:
            self.check(ws.headers.get("authorization"), ws.query_params.get("token"))
        except AuthError as e:
            return e
        return None


def exposure_warning(host: str, auth: TokenAuth) -> str | None:
    """A loud line when the server is reachable beyond this machine with no token."""
    if auth.enabled:
        return None
    try:
        if host == "localhost" or ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:
        pass
    return (f"SECURITY: listening on {host} WITHOUT API tokens: anyone who can reach this "
            "port can add streams, read every result and remove cameras. Pass --token TOKEN "
            "(or VLMSTREAM_TOKENS) or listen on 127.0.0.1.")
