"""Model backends behind one protocol; see :mod:`vlmstream.backends.base`."""

from vlmstream.backends.base import (
    Backend,
    BackendError,
    BackendOverloaded,
    Task,
    available,
    create,
    register,
)

__all__ = ["Backend", "BackendError", "BackendOverloaded", "Task", "available", "create", "register"]
