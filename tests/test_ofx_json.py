"""The plugin's JSON and project readers on hostile input (truncated, deeply nested, random
bytes, bad escapes) under AddressSanitizer: no memory error, no crash."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

pytestmark = pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler")


def _inputs() -> list[bytes]:
    rng = random.Random(7)
    valid = json.dumps({
        "schema": "Project.2", "id": "a\u00e9\\\"b", "state": "running",
        "progress": {"stage": "render", "fraction": 0.5, "done": 1, "total": 2},
        "error": {"error": "x", "message": "\ud83d\ude00 line\nbreak"},
        "clips": [{"id": "shot", "path": "m/shot.mov", "in_frame": 2, "out_frame": None}],
        "edits": {"shot": [{"kind": "drag", "points": [[1.5, -2e3]]}]},
        "url": "http://127.0.0.1:1", "token": "ab" * 32}).encode()
    cases = [valid, b"", b"{", b"[" * 5000, b'{"a":' * 3000, b'"\\u12', b'"\\ud800\\u"',
             b'{"id": "' + b"x" * 200 + b'"}', b'{"clips": [{"id": 5}]}', b"nul\x00after",
             b'{"schema": "Project.2", "clips": [{"id": "x", "path": "' + b"p" * 5000 + b'"}]}']
    for n in range(len(valid)):
        cases.append(valid[:n])  # every truncation
    for _ in range(300):
        data = bytearray(valid)
        for _ in range(rng.randint(1, 6)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        cases.append(bytes(data))
    return cases


def test_json_and_project_readers_survive_hostile_input_under_asan(tmp_path):
    from motionwright_bridge.ofx_build import find_compiler

    exe = tmp_path / "fuzz"
    sources = [HERE / "ofx_host" / "mw_json_fuzz.c"] + [
        HERE.parent / "plugin" / "ofx" / "src" / name for name in ("mw_json.c", "mw_project.c")]
    subprocess.run([find_compiler(), "-Wall", "-Wextra", "-Werror", "-std=gnu11", "-g", "-O1",
                    "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                    *map(str, sources), "-o", str(exe)], check=True)
    files = []
    for i, data in enumerate(_inputs()):
        path = tmp_path / f"case{i:04d}.json"
        path.write_bytes(data)
        files.append(str(path))
    proc = subprocess.run([str(exe), *files], capture_output=True, text=True, check=False,
                          env={"ASAN_OPTIONS": "detect_leaks=1", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == f"OK {len(files)}"
