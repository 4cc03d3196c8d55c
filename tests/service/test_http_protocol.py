"""The render server's HTTP protocol against a real server on a free port."""

from __future__ import annotations

import http.client
import json
import socket
import stat
import threading

import numpy as np
import pytest
from http_helpers import in_process, make_shot, running_server

from motionwright import errors
from motionwright.bridge import Client, request_for
from motionwright.service.discovery import read_server_info, server_file


def _raw(server, method, path, body=None, token="", headers=None):
    """One request with exactly the given body (bytes) and token; (status, body bytes)."""
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    hdrs = dict(headers or {})
    if token is not None:
        hdrs["Authorization"] = f"Bearer {token if token else server.token}"
    conn.request(method, path, body=body, headers=hdrs)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, data


@pytest.fixture()
def shot(tmp_path):
    return make_shot(tmp_path)


def test_render_through_the_server_equals_in_process_and_resubmit_is_cached(tmp_path, shot):
    path, edit = shot
    expected = in_process(path, edit)
    with running_server(tmp_path) as (server, client):
        request = request_for(path, edit, label="shot_010")
        view = client.submit(request)
        assert view["state"] in ("queued", "running", "done") and view["label"] == "shot_010"
        events = []
        done = client.wait(view["id"], progress=events.append, previews=True)
        assert done["state"] == "done" and done["frames"] == len(expected)
        assert events and events[-1].done == events[-1].total
        shown = [e.preview for e in events if e.preview is not None]
        assert shown and shown[-1].shape == expected.shape[1:] and shown[-1].dtype == np.uint8
        got = np.stack([client.frame(view["id"], i)[..., :3] for i in range(len(expected))])
        np.testing.assert_array_equal(got, expected)
        rgba = client.frame(view["id"], 0)
        assert rgba.shape[-1] == 4 and (rgba[..., 3] == 255).all()
        as_float = client.frame(view["id"], 1, "float32", copy=False)
        np.testing.assert_allclose(as_float[..., :3], expected[1] / 255.0, atol=1e-6)
        batched = np.stack([f[..., :3] for f in client.frames(view["id"], batch=2)])
        np.testing.assert_array_equal(batched, expected)
        assert len(list(client.frames(view["id"], 1, 3, "uint16"))) == 2
        clip = client.result_clip(view["id"])
        np.testing.assert_array_equal(clip.to_array(), expected)
        # The same render again: answered 200 from the cache, done at once.
        status, body = _raw(server, "POST", "/v1/jobs", json.dumps(request).encode(),
                            headers={"Content-Type": "application/json"})
        again = json.loads(body)
        assert status == 200 and again["state"] == "done" and again["cached"] is True
        assert [j["id"] for j in client.jobs("done")] == [view["id"], again["id"]]


def test_wrong_or_missing_token_is_refused_revealing_nothing(tmp_path):
    with running_server(tmp_path) as (server, client):
        for token in (None, "0" * 64, server.token[:-1], server.token + "0", "Bearer x"):
            for method, path in (("GET", "/v1/health"), ("GET", "/v1/jobs/abc"),
                                 ("POST", "/v1/jobs"), ("GET", "/no/such/route")):
                status, body = _raw(server, method, path, token=token)
                assert status == 401 and json.loads(body) == {"error": "unauthorized"}
        status, _ = _raw(server, "GET", "/v1/health", token=None,
                         headers={"Authorization": server.token})  # no "Bearer "
        assert status == 401
        wrong = Client(server.url, "f" * 64)
        with pytest.raises(errors.AuthenticationError, match="refused the token"):
            wrong.health()
        assert client.health()["protocol"] == 1


def test_malformed_requests_get_4xx_and_the_server_keeps_serving(tmp_path, shot):
    path, edit = shot
    good = request_for(path, edit)
    bad_requests = [
        (b"{not json", 400, "invalid_input"),
        (b"[1, 2]", 400, "invalid_input"),
        (b"", 400, "invalid_input"),
        (json.dumps({**good, "colour": "red"}).encode(), 400, "invalid_input"),
        (json.dumps({**good, "backend": 3}).encode(), 400, "invalid_input"),
        (json.dumps({**good, "source": {"path": "relative.mp4"}}).encode(), 400, "unsafe_path"),
        (json.dumps({**good, "source": {"path": str(path), "start": "0"}}).encode(), 400, None),
        (json.dumps({**good, "output": {"file": {"path": "/etc/../tmp/x.mov"}}}).encode(), 400,
         "unsafe_path"),
        (json.dumps({**good, "output": {"file": {"path": "/etc/out.mov"}}}).encode(), 400,
         "unsafe_path"),
        (b"[" * 5000, 400, "limit_exceeded"),
        (json.dumps({**good, "label": "x" * (80 << 10)}).encode(), 413, "too_large"),
    ]
    with running_server(tmp_path, max_body=64 << 10) as (server, client):
        for body, status, kind in bad_requests:
            got, data = _raw(server, "POST", "/v1/jobs", body,
                             headers={"Content-Type": "application/json"})
            answer = json.loads(data)
            assert got == status, (body[:80], answer)
            assert set(answer) == {"error", "message"} and answer["message"]
            if kind is not None:
                assert answer["error"] == kind, answer
            assert client.health()["protocol"] == 1  # still serving
        for method, route, status in (("GET", "/v1/jobs/nope", 404),
                                      ("GET", "/v1/jobs?state=sleeping", 400),
                                      ("GET", "/v1/jobs?colour=red", 400),
                                      ("GET", "/v1/jobs/nope/frames/x", 400),
                                      ("GET", "/v1/jobs/nope/frames/0", 404),
                                      ("GET", "/v1/jobs/nope/frames?start=0&stop=2", 404),
                                      ("GET", "/v1/jobs/nope/frames?start=5&stop=2", 400),
                                      ("GET", "/v1/jobs/nope/frames?start=0&stop=5000", 400),
                                      ("GET", "/v1/jobs/nope/frames?start=-1&stop=2", 400),
                                      ("GET", "/v1/jobs/nope/frames?start=0&stop=2&x=1", 400),
                                      ("PUT", "/v1/jobs", 405),
                                      ("GET", "/v2/health", 404)):
            got, data = _raw(server, method, route)
            assert got == status and json.loads(data)["message"], (route, data)
        with pytest.raises(errors.UnsafePathError, match=r"source\.path"):
            client.submit({**good, "source": {"path": "../shot.mp4"}})
        with pytest.raises(errors.JobNotFoundError):
            client.status("0123abcd")
        assert client.submit(good)["state"] in ("queued", "running", "done")


def test_bad_frame_requests_and_delete(tmp_path, shot):
    path, edit = shot
    with running_server(tmp_path, workers=1) as (_server, client):
        view = client.submit(request_for(path, edit))
        client.wait(view["id"])
        with pytest.raises(errors.InvalidInputError, match="sample"):
            client.frame(view["id"], 0, "int8")
        with pytest.raises(errors.FrameRangeError):
            client.frame(view["id"], 99)
        other = client.submit(request_for(path, edit, label="other", stop=3))
        assert client.cancel(other["id"])["state"] in ("cancelled", "done")
        client.delete(view["id"])
        with pytest.raises(errors.JobNotFoundError):
            client.status(view["id"])


def test_several_clients_at_once_and_a_disconnected_client_does_not_stop_its_job(tmp_path,
                                                                                 shot):
    path, edit = shot
    with running_server(tmp_path) as (server, client):
        # A client that sends a submit and hangs up before reading the answer.
        host, port = server.url.removeprefix("http://").rsplit(":", 1)
        body = json.dumps(request_for(path, edit, label="gone")).encode()
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall(b"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                         + server.token.encode() + b"\r\nContent-Type: application/json\r\n"
                         + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        results, failures = [], []

        def worker(i):
            try:
                other = Client.find(tmp_path / "run")
                view = other.submit(request_for(path, edit, label=f"c{i}", stop=5 - i % 2))
                results.append(other.wait(view["id"], timeout=60)["state"])
            except Exception as exc:  # reported below
                failures.append(exc)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
        assert not failures and results == ["done"] * 4
        deadline = 60
        while deadline > 0 and not [j for j in client.jobs() if j["label"] == "gone"]:
            threading.Event().wait(0.05)
            deadline -= 0.05
        gone = [j for j in client.jobs() if j["label"] == "gone"]
        assert len(gone) == 1
        assert client.wait(gone[0]["id"], timeout=60)["state"] == "done"


def test_server_json_is_private_and_removed_on_stop(tmp_path):
    with running_server(tmp_path) as (server, _client):
        path = server_file(tmp_path / "run")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        info = read_server_info(tmp_path / "run")
        assert info.url == server.url and info.token == server.token
        assert len(info.token) == 64 and int(info.token, 16) >= 0
        assert json.loads(path.read_text())["schema"] == "ServerInfo.1"
    assert not path.exists()
    with pytest.raises(errors.ServerNotRunningError, match="no render server"):
        Client.find(tmp_path / "run")


def test_tokens_differ_per_start(tmp_path):
    with running_server(tmp_path) as (first, _):
        token = first.token
    with running_server(tmp_path) as (second, _):
        assert second.token != token


def test_errors_keep_their_class_and_status_across_the_wire():
    from motionwright.bridge.client import _error_from
    from motionwright.service.app import error_status
    from motionwright.service.protocol import error_kind

    cases = [(errors.FrameNotReadyError("frame 3 is not rendered"), 409),
             (errors.JobNotFoundError("no job x"), 404),
             (errors.UnsafePathError("output.file.path: outside"), 400),
             (errors.FrameRangeError("index: 99"), 400),
             (errors.ServiceError("job is running"), 409),
             (KeyError("bug"), 500)]
    for exc, status in cases:
        assert error_status(exc) == status
        back = _error_from(status, {"error": error_kind(exc), "message": str(exc)}, "u", "GET",
                           "/")
        if status != 500:
            assert type(back) is type(exc) and str(back) == str(exc)
        else:
            assert isinstance(back, errors.ServiceError)


def test_uploaded_frames_render_like_the_same_frames_in_process(tmp_path):
    import motionwright as mw
    from motionwright.synthetic import make_moving_objects

    synth = make_moving_objects(4, (48, 32), seed=2)
    x, y = synth.tracks[0, 0]
    box = mw.Mask.from_box(max(0, int(x) - 10), max(0, int(y) - 10), 20, 20, size=(48, 32))
    edit = mw.DragEdit(mw.PointSet(np.array([[x, y]], np.float32)),
                       mw.PointSet(np.array([[x + 2, y + 1]], np.float32)), mask=box)
    expected = mw.render(mw.Clip.from_frames(synth.frames, fps=25), [edit]).to_array()
    with running_server(tmp_path) as (_server, client):
        source = client.upload(synth.frames, fps=25)
        assert source["fps"] == "25" and len(source["upload"]) == 32
        view = client.submit({"source": source, "edits": [edit.to_dict()],
                              "backend": "preview"})
        client.wait(view["id"], timeout=60)
        np.testing.assert_array_equal(client.result_clip(view["id"]).to_array(), expected)
        with pytest.raises(errors.ShapeError, match="T×H×W×3"):
            client.upload(synth.frames[0], fps=25)


def test_wait_with_cancel_cancels_the_job_on_the_server(tmp_path, shot):
    path, edit = shot
    with running_server(tmp_path, workers=1) as (_server, client):
        view = client.submit(request_for(path, edit))
        with pytest.raises(errors.Cancelled, match=view["id"]):
            client.wait(view["id"], cancel=lambda: True)
        assert client.status(view["id"])["state"] in ("cancelled", "done")
