"""Support for the OpenFX plugin tests: building the plugin and the test host once, frame
files, the host's output dumps, and a stand-in render service speaking protocol v1.

The stand-in follows the service contract (bearer token, ``/v1/health``, ``/v1/jobs``,
``/v1/jobs/{id}``, ``/v1/jobs/{id}/frames/{i}?sample=``, ``/v1/uploads``, server.json) and
renders with ``mw.render`` itself, so the plugin's pixels can be checked against the SDK. Its
``mode`` switches on the failures the plugin must survive: ``slow`` (answers after
``delay`` seconds), ``garbage`` (replies that are not HTTP), ``broken-json`` (HTTP with a body
that is not JSON), ``refuse`` (400 on every job).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import struct
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

import motionwright as mw

HERE = Path(__file__).resolve().parent
HOST_SOURCE = HERE / "ofx_host" / "mw_host.c"
SAMPLES = {"uint8": 1, "uint16": 2, "float32": 3}
DTYPES = {1: np.uint8, 2: np.dtype("<u2"), 3: np.dtype("<f4")}


def write_mwf(path: Path, frame: np.ndarray, sample: int) -> None:
    """Write an H×W×3/4 uint8 frame as a frame file of ``sample`` (1/2/3)."""
    rgba = frame if frame.shape[2] == 4 else np.concatenate(
        [frame, np.full((*frame.shape[:2], 1), 255, np.uint8)], axis=2)
    if sample == 1:
        data = rgba.astype(np.uint8)
    elif sample == 2:
        data = rgba.astype("<u2") * 257
    else:
        data = (rgba.astype(np.float32) / np.float32(255)).astype("<f4")
    h, w = rgba.shape[:2]
    head = b"MWFRAME1" + struct.pack("<6I", w, h, 4, sample, w * 4 * data.itemsize, 0)
    tmp = path.with_name(f"{path.name}.{threading.get_ident()}.tmp")  # one per writer
    tmp.write_bytes(head + np.ascontiguousarray(data).tobytes())
    os.replace(tmp, path)


def read_mwf(path: Path) -> np.ndarray:
    """An .mwf file as an H×W×4 array of its sample type."""
    raw = Path(path).read_bytes()
    assert raw[:8] == b"MWFRAME1"
    w, h, ch, sample, _row, _ = struct.unpack("<6I", raw[8:32])
    return np.frombuffer(raw[32:], DTYPES[sample]).reshape(h, w, ch)


def read_dump(path: Path) -> tuple[tuple[int, int, int, int], np.ndarray]:
    """A host output dump: (bounds, array rows top first, H×W×channels)."""
    raw = Path(path).read_bytes()
    assert raw[:8] == b"MWHOST01"
    x1, y1, x2, y2, ch, b = struct.unpack("<6i", raw[8:32])
    dtype = {1: np.uint8, 2: np.dtype("<u2"), 4: np.dtype("<f4")}[b]
    return (x1, y1, x2, y2), np.frombuffer(raw[32:], dtype).reshape(y2 - y1, x2 - x1, ch)


def expected_values(frames: np.ndarray, depth: str) -> np.ndarray:
    """uint8 RGBA frames as the host's depth stores them (what an exact copy gives)."""
    if depth == "byte":
        return frames.astype(np.uint8)
    if depth == "short":
        return frames.astype(np.uint16) * 257
    return (frames.astype(np.float32) / np.float32(255)).astype(np.float32)


def build_host(out: Path, sanitize: bool | str = False) -> Path:
    """Compile the test host; ``sanitize``: True (AddressSanitizer) or ``"thread"``."""
    from motionwright_bridge.ofx_build import find_compiler, source_dir

    exe = out / {False: "mw_host", True: "mw_host_asan", "thread": "mw_host_tsan"}[sanitize]
    flags = ["-Wall", "-Wextra", "-Werror", "-std=gnu11", "-g", "-O1"]
    if sanitize == "thread":
        flags += ["-fsanitize=thread"]
    elif sanitize:
        flags += ["-fsanitize=address,undefined", "-fno-omit-frame-pointer"]
    subprocess.run([find_compiler(), *flags, f"-I{source_dir() / 'include'}", str(HOST_SOURCE),
                    "-o", str(exe), "-ldl", "-lpthread", "-lm"], check=True)
    return exe


class FakeService:
    """A protocol-v1 render service on a loopback port, rendering with ``mw.render``."""

    def __init__(self, runtime_dir: Path, data_dir: Path, *, hold: float = 0.0):
        self.runtime_dir, self.data_dir = runtime_dir, data_dir
        self.token = secrets.token_hex(32)
        self.jobs: dict[str, dict] = {}
        self.requests: list[tuple[str, str]] = []
        self.mode = "normal"
        self.delay = 0.0
        self.hold = hold  # seconds a job stays "running" before its frames appear
        self.lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeService:
        self._thread.start()
        self.runtime_dir.mkdir(parents=True, exist_ok=True)
        (self.runtime_dir / "server.json").write_text(json.dumps({
            "schema": "ServerInfo.1", "url": f"http://127.0.0.1:{self.port}",
            "token": self.token, "pid": os.getpid(), "protocol": 1, "version": mw.__version__}))
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop answering (like a killed service: server.json stays behind)."""
        self._server.shutdown()
        self._server.server_close()

    # -- rendering ---------------------------------------------------------------------------
    def _render(self, job: dict, request: dict) -> None:
        time.sleep(self.hold)
        try:
            edits = [mw.edits.edit_from_dict(e) for e in request["edits"]]
            source = request["source"]
            if "path" in source:
                clip = mw.Clip.open(source["path"])[source["start"]:source["stop"]]
            else:
                folder = self.data_dir / "uploads" / source["upload"]
                frames = [read_mwf(p) for p in sorted(folder.glob("*.mwf"))]
                rgb = [np.rint(f[..., :3].astype(np.float64) * (255 / _scale(f))).astype(np.uint8)
                       for f in frames]
                clip = mw.Clip.from_frames(np.stack(rgb), fps=source["fps"])
            out = mw.render(clip, edits, backend=request.get("backend", "preview"))
            job["result"] = np.stack([out[i] for i in range(len(out))])
            job["state"] = "done"
            job["progress"] = {"stage": "done", "done": len(out), "total": len(out),
                               "fraction": 1.0}
        except Exception as exc:  # the job fails with the SDK's message, like the service
            job["state"] = "failed"
            job["error"] = {"error": type(exc).__name__, "message": str(exc)}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _reply(self, status: int, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _common(self) -> bool:
                service.requests.append((self.command, self.path))
                if service.mode == "slow":
                    time.sleep(service.delay)
                if service.mode == "garbage":
                    self.wfile.write(b"\x00\xffnot http at all\r\n\r\n{{{{")
                    return False
                if service.mode == "broken-json":
                    data = b'{"id": "x", "state": '
                    self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(data)
                                     + data)
                    return False
                if self.headers.get("Authorization") != f"Bearer {service.token}":
                    self._reply(401, {"error": "unauthorized"})
                    return False
                return True

            def do_GET(self) -> None:
                if not self._common():
                    return
                parts = self.path.split("?")[0].strip("/").split("/")
                query = dict(q.split("=", 1) for q in self.path.partition("?")[2].split("&") if q)
                if parts == ["v1", "health"]:
                    return self._reply(200, {"protocol": 1, "version": mw.__version__,
                                             "workers": 1, "gpu": None})
                if len(parts) >= 3 and parts[:2] == ["v1", "jobs"]:
                    job = service.jobs.get(parts[2])
                    if job is None:
                        return self._reply(404, {"error": "not_found", "message": "no such job"})
                    if len(parts) == 3:
                        return self._reply(200, _view(job))
                    if len(parts) == 5 and parts[3] == "frames":
                        if job["state"] != "done":
                            return self._reply(409, {"error": "not_ready", "message": "later"})
                        index, sample = int(parts[4]), query.get("sample", "uint8")
                        if not 0 <= index < len(job["result"]):
                            return self._reply(404, {"error": "not_found", "message": "frame"})
                        folder = service.data_dir / "jobs" / job["id"] / sample
                        folder.mkdir(parents=True, exist_ok=True)
                        path = folder / f"{index:06d}.mwf"
                        frame = job["result"][index]
                        write_mwf(path, frame, SAMPLES[sample])
                        h, w = frame.shape[:2]
                        return self._reply(200, {
                            "path": str(path), "index": index, "width": w, "height": h,
                            "channels": 4, "sample": sample,
                            "row_bytes": w * 4 * [1, 2, 4][SAMPLES[sample] - 1], "offset": 32})
                self._reply(404, {"error": "not_found", "message": self.path})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if not self._common():
                    return
                if self.path == "/v1/uploads":
                    uid = secrets.token_hex(8)
                    folder = service.data_dir / "uploads" / uid
                    folder.mkdir(parents=True)
                    return self._reply(200, {"id": uid, "path": str(folder)})
                if self.path == "/v1/jobs":
                    if service.mode == "refuse":
                        return self._reply(400, {"error": "invalid",
                                                 "message": "edits: not for this service"})
                    request = json.loads(body)
                    key = json.dumps({k: v for k, v in request.items() if k != "label"},
                                     sort_keys=True)
                    with service.lock:
                        for job in service.jobs.values():
                            if job["key"] == key and job["state"] in ("done", "running", "queued"):
                                return self._reply(200 if job["state"] == "done" else 201,
                                                   _view(job))
                        jid = secrets.token_hex(6)
                        job = {"id": jid, "key": key, "state": "running", "request": request,
                               "label": request.get("label"), "error": None,
                               "progress": {"stage": "render", "done": 0, "total": 1,
                                            "fraction": 0.34}}
                        service.jobs[jid] = job
                    threading.Thread(target=service._render, args=(job, request),
                                     daemon=True).start()
                    return self._reply(201, _view(job))
                self._reply(404, {"error": "not_found", "message": self.path})

        return Handler


def _scale(frame: np.ndarray) -> float:
    if frame.dtype == np.float32:
        return 1.0
    return 65535.0 if frame.dtype == np.dtype("<u2") else 255.0


def _view(job: dict) -> dict:
    return {"id": job["id"], "state": job["state"], "label": job["label"], "backend": "preview",
            "created": "", "updated": "", "frames": 0, "chunks": {"done": 0, "total": 1},
            "progress": job["progress"], "eta": None, "error": job["error"], "cached": False,
            "preview": None, "output_file": None}


def free_port() -> int:
    """A loopback port nothing listens on (for the "service killed" cases)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
