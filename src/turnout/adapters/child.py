"""Helper processes over pipes: ``python -m <module>``, length-prefixed frames both ways.

Why not ``multiprocessing``: nothing of the caller's ``__main__`` is re-imported, no fork happens
beside running threads, and the helper imports only its own module. A frame is an 8-byte
big-endian length and that many bytes (a pickle, or ``READY``). A helper reads until its stdin
closes, so it ends with the process that started it however that one ends (an exception, SIGKILL:
the pipe's far end closes and the helper reads end-of-file).

Both ends read on a thread of their own (``pump`` in the helper, ``Child``'s reader here), so
neither ever blocks writing while the other is busy: frames wait in a queue, not in the pipe.
"""

from __future__ import annotations

import contextlib
import fcntl
import pickle
import queue
import struct
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import IO, Any

FRAME = struct.Struct(">Q")
READY = b"ready"  # a helper's first frame (never a pickle: those start with b"\x80")
PIPE_BYTES = 1 << 20  # the requests pipe's size, where the system allows (64 KiB by default)


def write_frame(stream: IO[bytes], payload: bytes) -> None:
    stream.write(FRAME.pack(len(payload)))
    stream.write(payload)
    stream.flush()


def read_frame(stream: IO[bytes]) -> bytes | None:
    """The next frame, or None at end-of-file (or a frame cut short)."""
    head = stream.read(FRAME.size)
    if len(head) < FRAME.size:
        return None
    (size,) = FRAME.unpack(head)
    payload = stream.read(size)
    return payload if len(payload) == size else None


class ChildStopped(RuntimeError):
    """A helper process ended, or could not be written to (its stderr says why)."""


class Child:
    """One helper process: ``python -m module *args``. Its answers are decoded on a reader thread
    into ``answers`` (``None`` once it has ended); ``ready`` is set when it has loaded its modules."""

    def __init__(
        self, module: str, *args: str, decode: Callable[[bytes], Any] = pickle.loads, name: str = "child"
    ) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - this interpreter, our own module
            [sys.executable, "-m", module, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=1 << 16,
        )
        if self.process.stdin is None or self.process.stdout is None:
            raise RuntimeError(f"{name} has no pipes")
        self.name = name
        with contextlib.suppress(AttributeError, OSError):  # Linux: room for a few batches in the pipe
            fcntl.fcntl(self.process.stdin.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        self.stdin: IO[bytes] = self.process.stdin
        self.stdout: IO[bytes] = self.process.stdout
        self._decode = decode
        self.answers: queue.Queue[Any] = queue.Queue()
        self.ready = threading.Event()  # set when it has loaded its modules (or has ended)
        self.ended = threading.Event()  # set when its answers have ended (it exited or closed stdout)
        self.reader = threading.Thread(target=self._read, name=f"{name} reader", daemon=True)
        self.reader.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        """Running and answering (once its answers have ended it is of no use, reaped or not)."""
        return not self.ended.is_set() and self.process.poll() is None

    def _read(self) -> None:
        try:
            while True:
                frame = read_frame(self.stdout)
                if frame is None:
                    break
                if frame == READY:
                    self.ready.set()
                    continue
                self.answers.put(self._decode(frame))
        except (OSError, ValueError, pickle.UnpicklingError):
            pass
        finally:
            self.ended.set()
            self.ready.set()  # a wait for readiness ends too
            self.answers.put(None)

    def wait_ready(self, timeout: float) -> bool:
        """True once it has started, within ``timeout`` seconds; False if it ended first or is late."""
        return self.ready.wait(timeout) and not self.ended.is_set()

    def send(self, payload: bytes) -> None:
        try:
            write_frame(self.stdin, payload)
        except (OSError, ValueError) as exc:
            raise ChildStopped(f"{self.name} stopped ({exc})") from exc

    def kill(self) -> None:
        """Stop it now (SIGKILL) and wait until it has exited: nothing it was given is done after."""
        with contextlib.suppress(OSError):
            self.process.kill()
        self.process.wait()
        self.close()

    def close(self, timeout: float = 10) -> None:
        """Close its stdin (it ends), wait for it (killed after ``timeout`` seconds)."""
        with contextlib.suppress(OSError, ValueError):
            self.stdin.close()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.reader.join(timeout=5)
        with contextlib.suppress(OSError, ValueError):
            self.stdout.close()


# --- in the helper ----------------------------------------------------------------------------------


def pump(stream: IO[bytes], inbox: queue.Queue[bytes | None]) -> None:
    """Read requests as they come (``None`` at the end), so the caller never blocks writing while
    the helper works."""
    try:
        while True:
            frame = read_frame(stream)
            if frame is None:
                break
            inbox.put(frame)
    except (OSError, ValueError):
        pass
    finally:
        inbox.put(None)


def start_pump(stdin: IO[bytes], stdout: IO[bytes]) -> queue.Queue[bytes | None]:
    """Say ``READY`` and start reading requests on a thread: the helper's inbox."""
    write_frame(stdout, READY)
    inbox: queue.Queue[bytes | None] = queue.Queue()
    threading.Thread(target=pump, args=(stdin, inbox), name="requests", daemon=True).start()
    return inbox
