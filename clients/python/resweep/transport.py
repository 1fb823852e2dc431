"""How the client reaches the daemon: a byte stream, and frames over it.

The seam is :class:`Transport`: something that sends bytes and receives an
exact number of them with a timeout. :func:`connect` picks one from an
address. Today the daemon listens only on a Unix socket
(:class:`UnixTransport`); when it gains TCP with a token handshake, a
``TcpTransport`` that does the handshake in its constructor is the only
addition, selected by ``tcp://host:port`` addresses.

A frame (docs/protocol.md) is a 4-byte big-endian length, then that many
bytes of one JSON object, at most :data:`MAX_FRAME` bytes.
"""
from __future__ import annotations

import abc
import errno
import json
import socket
import struct
import time
from typing import Any, Dict, Optional

from .errors import DaemonUnreachable, ProtocolError, ResweepError

__all__ = ["PROTOCOL_VERSION", "MAX_FRAME", "Transport", "UnixTransport",
           "connect", "Connection"]

PROTOCOL_VERSION = 1
MAX_FRAME = 8 << 20     # PROTO_MAX_FRAME, include/proto.h
SOCKET_PATH_MAX = 107   # PATHS_SOCKET_MAX, include/paths.h


class Transport(abc.ABC):
    """A connected byte stream to the daemon."""

    #: Where it is connected, for messages.
    address: str

    @abc.abstractmethod
    def send(self, data: bytes) -> None:
        """Sends every byte, or raises :class:`DaemonUnreachable`."""

    @abc.abstractmethod
    def recv(self, n: int, timeout: Optional[float]) -> bytes:
        """Up to n bytes (b"" when the peer closed); raises
        :class:`TimeoutError` after timeout seconds of silence."""

    @abc.abstractmethod
    def close(self) -> None:
        """Closes the stream (idempotent)."""


class UnixTransport(Transport):
    """A Unix stream socket, as ``resweepd --socket`` listens on."""

    def __init__(self, path: str) -> None:
        self.address = path
        if len(path.encode()) > SOCKET_PATH_MAX:
            raise DaemonUnreachable(
                f"{path}: socket path is longer than {SOCKET_PATH_MAX} bytes")
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._sock.connect(path)
        except OSError as e:
            self._sock.close()
            if e.errno in (errno.ENOENT, errno.ECONNREFUSED):
                raise DaemonUnreachable(
                    f"no daemon is listening on {path} (start one with "
                    f"resweepd, or give Client(socket=...) or "
                    f"RESWEEP_SOCKET)") from None
            raise DaemonUnreachable(
                f"cannot connect to {path}: {e.strerror}") from None

    def send(self, data: bytes) -> None:
        try:
            self._sock.sendall(data)
        except OSError as e:
            raise DaemonUnreachable(
                f"{self.address}: the daemon went away ({e.strerror})") \
                from None

    def recv(self, n: int, timeout: Optional[float]) -> bytes:
        self._sock.settimeout(timeout)
        try:
            return self._sock.recv(n)
        except socket.timeout:
            raise TimeoutError from None
        except OSError as e:
            raise DaemonUnreachable(
                f"{self.address}: the daemon went away ({e.strerror})") \
                from None

    def close(self) -> None:
        self._sock.close()


def connect(address: str) -> Transport:
    """A transport to address: a Unix socket path (or ``unix:PATH``)."""
    if address.startswith("unix:"):
        return UnixTransport(address[len("unix:"):])
    if "://" in address:
        raise ResweepError(
            f"{address}: the daemon speaks only over a Unix socket so far "
            f"(no TCP + token handshake in protocol {PROTOCOL_VERSION}); give "
            f"a socket path")
    return UnixTransport(address)


class Connection:
    """Requests and replies over one transport, matched on ``id``."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self._next_id = 1
        self._buf = bytearray()

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.transport.close()

    def send(self, op: str, **members: Any) -> int:
        """Sends ``{"v": 1, "id": n, "op": op, ...}``; returns n."""
        rid = self._next_id
        self._next_id += 1
        req = {"v": PROTOCOL_VERSION, "id": rid, "op": op, **members}
        body = json.dumps(req, allow_nan=False, separators=(",", ":"),
                          ensure_ascii=False).encode()
        if len(body) > MAX_FRAME:
            raise ResweepError(
                f"{op}: the request is {len(body)} bytes, larger than the "
                f"{MAX_FRAME} bytes the daemon takes")
        self.transport.send(struct.pack(">I", len(body)) + body)
        return rid

    def _read(self, n: int, deadline: Optional[float], what: str) -> bytes:
        while len(self._buf) < n:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise DaemonUnreachable(
                    f"{self.transport.address}: no reply to {what} in time")
            try:
                chunk = self.transport.recv(1 << 16, left)
            except TimeoutError:
                raise DaemonUnreachable(
                    f"{self.transport.address}: no reply to {what} in time") \
                    from None
            if not chunk:
                raise DaemonUnreachable(
                    f"{self.transport.address}: the daemon closed the "
                    f"connection during {what}")
            self._buf += chunk
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    def recv(self, timeout: Optional[float], what: str) -> Dict[str, Any]:
        """The next frame as a dict, waiting at most timeout seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        (n,) = struct.unpack(">I", self._read(4, deadline, what))
        if n == 0 or n > MAX_FRAME:
            raise ProtocolError(
                f"{self.transport.address}: a reply frame of {n} bytes "
                f"(1 to {MAX_FRAME} expected)")
        body = self._read(n, deadline, what)
        try:
            msg = json.loads(body)
        except ValueError as e:
            raise ProtocolError(
                f"{self.transport.address}: a reply that is not JSON "
                f"({e})") from None
        if not isinstance(msg, dict) or msg.get("v") != PROTOCOL_VERSION:
            raise ProtocolError(
                f"{self.transport.address}: a reply that is not a protocol "
                f"{PROTOCOL_VERSION} object")
        return msg


def members(reply: Dict[str, Any]) -> Dict[str, Any]:
    """A reply without the envelope (v, id, ok)."""
    return {k: v for k, v in reply.items() if k not in ("v", "id", "ok")}
