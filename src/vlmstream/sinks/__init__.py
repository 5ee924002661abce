"""Where results go. Every sink has its own bounded queue and thread."""

from vlmstream.sinks.base import Sink
from vlmstream.sinks.jsonl import JsonlSink

__all__ = ["JsonlSink", "Sink"]
