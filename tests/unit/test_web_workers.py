"""Work off the event loop: renders in the render processes, argon2 and file work in threads.

Each test holds one request's work on an event (or a file, in a worker process) and shows that
another request is answered meanwhile; the order of events is checked, never a duration.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import worker_probe
from annex_gen import app, users
from annex_gen.output.pool import RenderPool
from conftest import REGISTRY_DIR, ROOT
from web_support import PASSWORD, csrf, web_client

CONTRACT = (ROOT / "examples" / "nordic-webshop.yaml").read_text()
HOLD = 30  # seconds a held request waits for its release at most (a failing test ends, never hangs)


def test_a_download_is_rendered_in_another_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def in_this_process(*args: object, **kwargs: object) -> None:
        raise AssertionError("rendered in the server's own process")

    monkeypatch.setattr("annex_gen.output.generate.generate", in_this_process)
    client = web_client(tmp_path, {"nordic-webshop.yaml": CONTRACT})
    response = client.get("/customers/nordic-webshop/download/pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF-")
    (entry,) = app.audit_entries(tmp_path / "archive")
    assert entry.action == "annex generated"
    again = client.get("/customers/nordic-webshop/download/pdf")  # cached: served as it is
    assert again.content == response.content


def test_render_processes_start_warm() -> None:
    pool = RenderPool(1, (REGISTRY_DIR, ROOT / "examples"))
    try:
        pid, weasyprint = pool.submit(worker_probe.loaded, "weasyprint").result(timeout=120)
        assert pid != os.getpid() and weasyprint
        _, docx = pool.submit(worker_probe.loaded, "docx").result(timeout=120)
        assert docx
    finally:
        pool.shutdown()


def test_a_slow_render_does_not_hold_a_static_file_or_the_list(tmp_path: Path) -> None:
    client = web_client(tmp_path, {"nordic-webshop.yaml": CONTRACT})
    release = tmp_path / "release"
    with client:  # one event loop for every request of the test
        slow = client.app.state.renders.submit(worker_probe.wait_for, release, HOLD)
        assert client.get("/static/web.css").status_code == 200
        assert client.get("/customers").status_code == 200
        assert not slow.done()
        release.touch()
        assert slow.result(timeout=HOLD) != os.getpid()


def _held(monkeypatch: pytest.MonkeyPatch, target: str) -> tuple[threading.Event, threading.Event]:
    """Make target (module.function) wait for a release event; returns (entered, release)."""
    module, name = target.rsplit(".", 1)
    original = getattr(__import__(module, fromlist=[name]), name)
    entered, release = threading.Event(), threading.Event()

    def held(*args: object, **kwargs: object) -> object:
        entered.set()
        release.wait(HOLD)
        return original(*args, **kwargs)

    monkeypatch.setattr(target, held)
    return entered, release


@pytest.mark.parametrize("held_work", ["list", "sign-in"])
def test_file_and_password_work_do_not_hold_other_requests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          held_work: str) -> None:
    client = web_client(tmp_path, {"nordic-webshop.yaml": CONTRACT}, users={"maija": "sales"})
    with client, ThreadPoolExecutor(1) as other:
        token = csrf(client, "/login")
        if held_work == "list":
            client.post("/login", data={"name": "maija", "password": PASSWORD, "csrf_token": token})
            entered, release = _held(monkeypatch, "annex_gen.app.contract_listing")
            waiting = other.submit(client.get, "/customers")
        else:
            entered, release = _held(monkeypatch, "annex_gen.users.verify_password")
            monkeypatch.setattr("annex_gen.web.views.auth.verify_password", users.verify_password)
            waiting = other.submit(client.post, "/login",
                                   data={"name": "maija", "password": PASSWORD, "csrf_token": token})
        assert entered.wait(HOLD)
        try:
            assert client.get("/static/web.css").status_code == 200
            assert not waiting.done()  # answered while the other request still waits for its work
        finally:
            release.set()
        assert waiting.result(timeout=HOLD).status_code in (200, 303)


def test_an_unknown_customer_from_a_worker_is_a_page(tmp_path: Path) -> None:
    client = web_client(tmp_path, {"nordic-webshop.yaml": CONTRACT})
    response = client.get("/customers/nobody/download/pdf")
    assert response.status_code == 404 and "Not found" in response.text


def test_a_worker_that_dies_is_replaced(tmp_path: Path) -> None:
    pool = RenderPool(1)
    try:
        pid = pool.submit(os.getpid).result(timeout=120)
        os.kill(pid, 9)
        assert pool.submit(os.getpid).result(timeout=120) not in (pid, os.getpid())
    finally:
        pool.shutdown()


def test_a_pool_whose_worker_died_while_idle_starts_afresh() -> None:
    # A server started in a process whose shared pool lost a worker earlier (killed, out of memory).
    pool = RenderPool(1)
    try:
        pid = pool.submit(os.getpid).result(timeout=120)
        os.kill(pid, 9)
        deadline = time.monotonic() + 30
        while not getattr(pool._current(), "_broken", False) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pool._current()._broken  # type: ignore[attr-defined] - the state the start meets
        pool.start()
        assert pool.submit(os.getpid).result(timeout=120) not in (pid, os.getpid())
    finally:
        pool.shutdown()


def test_a_render_whose_request_went_away_finishes_quietly(tmp_path: Path) -> None:
    pool = RenderPool(1)
    release = tmp_path / "release"
    try:
        waiting = pool.submit(worker_probe.wait_for, release, HOLD)
        assert waiting.cancel()  # the browser closed the connection
        release.touch()
        assert pool.submit(os.getpid).result(timeout=120) != os.getpid()  # the pool goes on
        assert waiting.cancelled()
    finally:
        pool.shutdown()
