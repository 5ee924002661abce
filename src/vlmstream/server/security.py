"""Keep camera credentials out of every response and log line, and decide which source URLs
anyone may make the server open (an open URL fetcher is an SSRF hole)."""

from __future__ import annotations

import fnmatch
import logging
import re
from urllib.parse import urlsplit, urlunsplit

# user[:pass]@ in any URL inside a longer text, and secret-looking query parameters.
_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s?#]+@")
_SECRET_QS = re.compile(r"(?i)\b(?P<key>token|password|passwd|pass|pwd|secret|key|auth|"
                        r"access_token|api_key|apikey|sig|signature)=(?P<val>[^&\s#\"']+)")


def mask_text(text: str) -> str:
    """``text`` with every URL's ``user:pass@`` and secret query values replaced by ``***``."""
    text = _USERINFO.sub(r"\g<scheme>***@", text)
    return _SECRET_QS.sub(r"\g<key>=***", text)


def strip_userinfo(uri: str) -> str:
    """The URI without its ``user:pass@`` part (for matching against the allowlist)."""
    parts = urlsplit(uri)
    if not parts.scheme or "@" not in parts.netloc:
        return uri
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


class SourceNotAllowed(PermissionError):
    """A stream's source is not in the server's allowlist; ``str()`` says how to allow it."""


class SourceAllowlist:
    """Glob patterns (``rtsp://10.0.0.*/*``, ``synthetic://*``, ``*`` for anything)."""

    def __init__(self, patterns: list[str]) -> None:
        self.patterns = list(patterns)

    def check(self, uri: str) -> None:
        bare = strip_userinfo(uri)
        if any(fnmatch.fnmatchcase(bare, p) for p in self.patterns):
            return
        allowed = ", ".join(self.patterns) or "nothing"
        raise SourceNotAllowed(
            f"source {mask_text(uri)!r} is not in the server's source allowlist ({allowed}); "
            "start the server with --allow-source PATTERN to allow it")


class MaskingFilter(logging.Filter):
    """Masks credentials in every record passing a handler (installed on the root handlers)."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        masked = mask_text(msg)
        if masked != msg:
            record.msg, record.args = masked, None
        return True


def install_log_masking() -> None:
    """Mask on the root handlers and uvicorn's own (its access log carries ``?token=``)."""
    f = MaskingFilter()
    handlers = [h for name in ("", "uvicorn", "uvicorn.error", "uvicorn.access")
                for h in logging.getLogger(name).handlers]
    for h in handlers:
        if not any(isinstance(x, MaskingFilter) for x in h.filters):
            h.addFilter(f)
