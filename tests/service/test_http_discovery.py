"""Finding the server: stale and foreign server.json files, protocol versions, loopback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from motionwright import errors
from motionwright.bridge import Client
from motionwright.cli.main import main
from motionwright.service.discovery import ServerInfo, write_server_info
from motionwright.service.server import check_host


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_stale_server_json_is_detected(tmp_path):
    url = f"http://127.0.0.1:{_free_port()}"
    write_server_info(ServerInfo(url=url, token="a" * 64, pid=_dead_pid()), tmp_path)
    with pytest.raises(errors.ServerNotRunningError, match=r"stale.*no longer runs"):
        Client.find(tmp_path)
    # A live pid (this process) but nothing listening: stale too.
    write_server_info(ServerInfo(url=url, token="a" * 64, pid=os.getpid()), tmp_path)
    with pytest.raises(errors.ServerNotRunningError, match="does not answer"):
        Client.find(tmp_path)


def test_protocol_mismatch_names_both_versions(tmp_path):
    url = f"http://127.0.0.1:{_free_port()}"
    write_server_info(ServerInfo(url=url, token="a" * 64, pid=os.getpid(), protocol=2),
                      tmp_path)
    with pytest.raises(errors.ProtocolMismatchError,
                       match=r"protocol 2, this client protocol 1.*same Motionwright version"):
        Client.find(tmp_path)


def test_corrupt_server_json_is_a_clear_error(tmp_path):
    (tmp_path / "server.json").write_text(json.dumps({"schema": "Other.1"}))
    with pytest.raises(errors.ServerNotRunningError, match="not a render server file"):
        Client.find(tmp_path)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.com", ""])
def test_non_loopback_addresses_are_refused(host, capsys):
    with pytest.raises(errors.InvalidInputError, match="not a loopback address"):
        check_host(host)
    assert main(["serve", "--host", host]) == 2
    assert "loopback" in capsys.readouterr().err


def test_loopback_addresses_are_accepted():
    assert check_host("127.0.0.1") == "127.0.0.1"
    assert check_host("::1") == "::1"
    assert check_host("localhost") == "127.0.0.1"


def test_client_imports_without_aiohttp():
    code = ("import sys; sys.modules['aiohttp'] = None; "
            "from motionwright.bridge import Client, request_for; print('ok')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=dict(os.environ), timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_cache_sizes_parse():
    import argparse

    from motionwright.cli.cmd_serve import parse_bytes

    assert parse_bytes("20G") == 20 << 30
    assert parse_bytes("512M") == 512 << 20
    assert parse_bytes("1.5GB") == 3 << 29
    assert parse_bytes("1000000") == 1000000
    for bad in ("", "10Q", "-1G", "0"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_bytes(bad)
