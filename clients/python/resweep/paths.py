"""The socket and database defaults, the same as the CLI's and the daemon's
(include/paths.h); empty environment variables count as unset."""
from __future__ import annotations

import os
import pwd

__all__ = ["default_socket", "default_db"]


def _env(name: str) -> str:
    return os.environ.get(name) or ""


def default_socket() -> str:
    """$RESWEEP_SOCKET, else $XDG_RUNTIME_DIR/resweep/resweepd.sock, else
    /tmp/resweep-$UID/resweepd.sock."""
    if _env("RESWEEP_SOCKET"):
        return _env("RESWEEP_SOCKET")
    if _env("XDG_RUNTIME_DIR"):
        return _env("XDG_RUNTIME_DIR") + "/resweep/resweepd.sock"
    return f"/tmp/resweep-{os.getuid()}/resweepd.sock"


def default_db() -> str:
    """$RESWEEP_DB, else $XDG_DATA_HOME/resweep/resweep.db, else
    ~/.local/share/resweep/resweep.db."""
    if _env("RESWEEP_DB"):
        return _env("RESWEEP_DB")
    if _env("XDG_DATA_HOME"):
        return _env("XDG_DATA_HOME") + "/resweep/resweep.db"
    home = _env("HOME") or pwd.getpwuid(os.getuid()).pw_dir
    return home + "/.local/share/resweep/resweep.db"
