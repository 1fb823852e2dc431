"""The exceptions the resweep client raises.

Every one is a :class:`ResweepError`, and its text is a sentence that names
the field or file and the reason, as the CLI prints it.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional

__all__ = [
    "ResweepError", "DaemonUnreachable", "ProtocolError", "DaemonError",
    "SpecError", "JobNotFound", "RunsFailed", "DatabaseError",
]


class ResweepError(Exception):
    """The base of every error the client raises."""


class DaemonUnreachable(ResweepError, ConnectionError):
    """No daemon answers on the address, or the connection was lost."""


class ProtocolError(ResweepError):
    """The daemon sent something that is not a frame of protocol 1."""


class DaemonError(ResweepError):
    """An error reply of the daemon: ``{"code", "field", "message"}``.

    ``code`` is one of docs/protocol.md's error codes (``invalid_spec``,
    ``not_found``, ...), ``field`` the key path it concerns (or None), and
    ``message`` the daemon's sentence.
    """

    def __init__(self, code: str, field: Optional[str], message: str) -> None:
        self.code = code
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}" if field else message)

    @classmethod
    def from_reply(cls, error: Mapping[str, Any]) -> "DaemonError":
        """The exception of the right class for an ``error`` member."""
        code = str(error.get("code", "internal"))
        field = error.get("field")
        message = str(error.get("message", "the daemon gave no reason"))
        kind = {"invalid_spec": SpecError, "not_found": JobNotFound}.get(
            code, DaemonError)
        if code == "bad_request" and isinstance(field, str) and \
                field.split(".")[0].split("[")[0] == "spec":
            kind = SpecError
        return kind(code, field if isinstance(field, str) else None, message)


class SpecError(DaemonError, ValueError):
    """A job specification the daemon (or the client) refused.

    ``field`` is the key path in the spec (``grid.model.width[2]``),
    ``message`` the reason; nothing was stored.
    """


class JobNotFound(DaemonError, LookupError):
    """There is no such job (code ``not_found``)."""


class RunsFailed(ResweepError):
    """A job ended with failed runs; ``job`` is its final status."""

    def __init__(self, job: Mapping[str, Any]) -> None:
        self.job = dict(job)
        super().__init__(
            f"job {job.get('job')}: {job.get('failed')} of {job.get('total')} "
            f"runs failed (Job.runs() gives their errors; Job.retry() "
            f"queues them again)")


class DatabaseError(ResweepError):
    """The results database cannot be read (missing, or a bad query)."""
