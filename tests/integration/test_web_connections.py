"""The server closes a connection that sends no request in time, and any beyond its limit, and still serves."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import uvicorn

from annex_gen.web import connections


async def _hello(scope, receive, send) -> None:
    assert scope["type"] == "http"
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"hello"})


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setattr(connections, "HEADER_TIMEOUT_S", 0.5)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(_hello, host="127.0.0.1", port=port, log_level="warning",
                            http=connections.bounded_protocol(4), lifespan="off")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not running.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    yield port
    running.should_exit = True
    thread.join(10)


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    sock.settimeout(seconds)
    try:
        return sock.recv(1) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def _get(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        return b"".join(iter(lambda: sock.recv(4096), b""))


def test_idle_and_excess_connections_are_closed_and_requests_still_served(server):
    idle = [socket.create_connection(("127.0.0.1", server), timeout=5) for _ in range(4)]
    for sock in idle[:3]:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # headers begun, never finished
    excess = socket.create_connection(("127.0.0.1", server), timeout=5)
    assert _closed_within(excess, 2)  # beyond the limit: closed at once
    assert not _closed_within(idle[0], 0.1)  # within the limit: waits for its request
    assert all(_closed_within(sock, 3) for sock in idle)  # no request's headers in time: closed
    answer = _get(server)
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and b"hello" in answer  # and the server answers as before
    for sock in (*idle, excess):
        sock.close()


def test_the_open_file_limit_is_raised_and_half_of_it_is_for_connections():
    import resource

    limit = connections.connection_limit()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert limit == max(64, min(soft, connections.MAX_FILES) // 2)
    assert soft == min(hard, connections.MAX_FILES) or hard == resource.RLIM_INFINITY
