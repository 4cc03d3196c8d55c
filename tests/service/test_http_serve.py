"""``motionwright serve`` as a process: foreground stop on SIGTERM, --detach, one per folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from http_helpers import env_for, make_shot

from motionwright import errors
from motionwright.bridge import Client, request_for
from motionwright.cli.main import main
from motionwright.service import Service
from motionwright.service.discovery import server_file


def _wait_for_client(runtime, process=None, timeout=60.0) -> Client:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return Client.find(runtime)
        except errors.ServerNotRunningError:
            if process is not None and process.poll() is not None:
                raise AssertionError(f"server exited: {process.communicate()}") from None
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_sigterm_drains_keeps_queued_jobs_and_removes_server_json(tmp_path):
    path, edit = make_shot(tmp_path, frames=3)
    env = env_for(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "motionwright.cli.main", "serve", "--port", "0",
         "--workers", "1"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)
    try:
        client = _wait_for_client(tmp_path / "run", process)
        assert client.info.pid == process.pid
        ids = [client.submit(request_for(path, edit, label=f"j{i}", stop=3 - i % 2))["id"]
               for i in range(4)]
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, out
    assert "render server stopped" in out
    assert not server_file(tmp_path / "run").exists()
    # Nothing lost: every job is listed again, none left running, and they all finish.
    with Service(tmp_path / "data", workers=2) as service:
        views = {v["id"]: v for v in service.jobs()}
        assert set(views) == set(ids)
        assert not [v for v in views.values() if v["state"] in ("failed", "cancelled")]
        assert all(service.wait(i, timeout=60)["state"] == "done" for i in ids)


def test_detach_starts_a_background_server_once(tmp_path, monkeypatch, capsys):
    for name, value in env_for(tmp_path).items():
        monkeypatch.setenv(name, value)
    runtime = tmp_path / "run"
    assert main(["serve", "--detach", "--port", "0"]) == 0
    printed = capsys.readouterr().out
    client = Client.find(runtime)
    pid = client.info.pid
    try:
        assert pid != os.getpid() and f"pid {pid}" in printed
        assert (tmp_path / "data" / "server.log").is_file()
        assert client.health()["protocol"] == 1
        # Already running: --detach and ensure_running return the same server.
        assert main(["serve", "--detach"]) == 0
        assert f"pid {pid}" in capsys.readouterr().out
        assert Client.ensure_running().info.pid == pid
        # A second foreground server for the same folder is refused.
        assert main(["serve", "--port", "0"]) == 2
        assert "already runs" in capsys.readouterr().err
    finally:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 60
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(pid) and not server_file(runtime).exists()
    with pytest.raises(errors.ServerNotRunningError):
        Client.find(runtime)


def test_ensure_running_starts_a_server_when_none_answers(tmp_path, monkeypatch):
    for name, value in env_for(tmp_path).items():
        monkeypatch.setenv(name, value)
    client = Client.ensure_running(timeout=60)
    pid = client.info.pid
    try:
        assert pid != os.getpid() and client.health()["protocol"] == 1
        assert Client.find().info.pid == pid
    finally:
        os.kill(pid, signal.SIGINT)  # what Ctrl-C sends: the same clean stop
    deadline = time.monotonic() + 60
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(pid) and not server_file(tmp_path / "run").exists()
    assert "render server stopped" in (tmp_path / "data" / "server.log").read_text()
