"""Sources: URIs in, decoded pictures out. See :mod:`vlmstream.sources.base`."""

from vlmstream.sources.base import (
    Decoded,
    Source,
    SourceError,
    SourceInfo,
    create_source,
    register_scheme,
)

__all__ = ["Decoded", "Source", "SourceError", "SourceInfo", "create_source", "register_scheme"]
