"""resweep: submit, follow and analyse resweepd sweeps from Python.

    >>> import resweep
    >>> job = resweep.Client().submit("examples/quick.json")
    >>> job.wait()                 # a progress bar; returns when it ends
    >>> job.results()              # a DataFrame (a list of dicts without pandas)

Standard library only; pandas, tqdm and matplotlib are used when present.
The client speaks the daemon's protocol (docs/protocol.md) itself.
"""
from .client import Client
from .errors import (DaemonError, DaemonUnreachable, DatabaseError,
                     JobNotFound, ProtocolError, ResweepError, RunsFailed,
                     SpecError)
from .job import Job
from .sweep import Sweep
from .transport import PROTOCOL_VERSION

__version__ = "0.1.0"

__all__ = ["Client", "Job", "Sweep", "ResweepError", "DaemonUnreachable",
           "ProtocolError", "DaemonError", "SpecError", "JobNotFound",
           "RunsFailed", "DatabaseError", "PROTOCOL_VERSION"]
