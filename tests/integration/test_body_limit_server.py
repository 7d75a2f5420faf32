"""Body limits through a real HTTP server (uvicorn): an announced oversized body is refused before a
byte of it is sent, and a chunked one is cut off once it passes the limit, the connection closed."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from turnout.bootstrap import Turnout
from turnout.entrypoints.api.app import create_app

MB = 1024 * 1024


@pytest.fixture
def server_port(turnout: Turnout) -> Iterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    config = uvicorn.Config(create_app(turnout), lifespan="off", log_level="error")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def read_answer(conn: socket.socket) -> bytes:
    """Everything the server says until it closes the connection (``Connection: close``)."""
    conn.settimeout(5)
    answer = b""
    while chunk := conn.recv(65536):
        answer += chunk
    return answer


def test_announced_oversized_body_is_refused_before_it_is_sent(server_port: int) -> None:
    with socket.create_connection(("127.0.0.1", server_port)) as conn:
        conn.sendall(
            b"POST /api/v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {50 * MB}\r\n\r\n".encode()
        )
        answer = read_answer(conn)  # no body sent at all: the answer comes anyway
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"code":"payload_too_large"' in answer


def test_chunked_body_is_cut_off_once_past_the_limit(server_port: int) -> None:
    chunk = b" " * (64 * 1024)
    frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    sent = 0
    with socket.create_connection(("127.0.0.1", server_port)) as conn:
        conn.sendall(
            b"POST /api/v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        try:
            for _ in range(20 * 16):  # up to 20 MB, never finished
                conn.sendall(frame)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading and closed: what we want
        answer = read_answer(conn)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"code":"payload_too_large"' in answer
    assert sent < 20 * MB
