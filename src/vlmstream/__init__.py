"""vlmstream: vision and vision-language models on many live video streams, in real time."""

__version__ = "0.1.0"
