"""``ports.Processes``: a runner is ``host:pid``; one on this host is gone when its pid no longer runs."""

from __future__ import annotations

import os
import socket


class LocalProcesses:
    def this_process(self) -> str:
        return f"{socket.gethostname()}:{os.getpid()}"

    def has_ended(self, owner: str | None) -> bool:
        """True when ``owner`` is empty or a process on this host that no longer runs (a process on
        another host is never known to have ended: its lease decides)."""
        if not owner:
            return True
        host, _, pid_text = owner.rpartition(":")
        if host != socket.gethostname() or not pid_text.isdigit():
            return False
        try:
            os.kill(int(pid_text), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False
