"""The OpenFX plugin loaded by a host of the project's own (tests/ofx_host/mw_host.c) against a
protocol-v1 render service: exact result pixels for every depth and layout, the status frame
while rendering, and every failure case (service absent, killed, slow, garbage, refusing, host
abort) answered with a status frame and a host message, within the time bound."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

import motionwright as mw
from motionwright.edits import DragEdit
from ofx_support import (
    FakeService,
    build_host,
    expected_values,
    free_port,
    read_dump,
    write_mwf,
)

pytestmark = pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None,
                                reason="needs a C compiler")

W, H, N = 48, 32, 6
BUDGET_MS = 800


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from motionwright_bridge.ofx_build import BINARY_NAME, build_ofx, platform_folder

    root = tmp_path_factory.mktemp("ofx")
    bundle = build_ofx(root / "plain")
    return {"plugin": bundle / "Contents" / platform_folder() / BINARY_NAME,
            "host": build_host(root), "root": root}


@pytest.fixture()
def shot(tmp_path: Path) -> dict:
    """A 6-frame PNG sequence, a project with one drag edit on it, and the expected render."""
    folder = tmp_path / "media" / "shot"
    folder.mkdir(parents=True)
    yy, xx = np.mgrid[0:H, 0:W]
    for i in range(N):
        img = np.stack([(xx * 5 + i * 7) % 256, (yy * 7) % 256, (xx + yy + 40 * i) % 256], -1)
        cv2.imwrite(str(folder / f"f{i:04d}.png"), img.astype(np.uint8)[..., ::-1])
    project = mw.Project()
    ref = project.add_clip(folder, id="shot")
    mask = mw.Mask.from_box(8, 6, 40, 26, (W, H))
    project.add_edit(ref.id, DragEdit(mw.PointSet(np.array([[20.0, 15.0]])),
                                      mw.PointSet(np.array([[28.0, 12.0]])), mask))
    path = project.save(tmp_path / "shot.mwproj")
    clip = mw.Clip.open(folder)
    source = np.stack([clip[i] for i in range(N)])
    result = fresh_thread_render(clip, project.edits[ref.id])
    assert not np.array_equal(result, source)  # the edit changes pixels
    return {"project": path, "source": source, "result": result, "tmp": tmp_path}


def fresh_thread_render(clip, edits) -> np.ndarray:
    """``mw.render`` on a new thread, as the service's workers do: the drag preview fits its
    carry with OpenCV's RANSAC, whose random state is per thread, so only renders starting
    from a fresh thread state are bit-identical."""
    out: list = []
    worker = threading.Thread(target=lambda: out.append(mw.render(clip, edits).to_array()))
    worker.start()
    worker.join()
    return out[0]


def wait_for(condition, seconds: float = 15.0) -> None:
    """Poll ``condition`` until true (detached children start late on a loaded machine)."""
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


def _opaque(frames: np.ndarray) -> np.ndarray:
    return np.concatenate([frames, np.full((*frames.shape[:-1], 1), 255, np.uint8)], -1)


def run_host(built: dict, shot: dict, *args: str, depth: str = "float", env: dict | None = None,
             timeout: float = 60) -> tuple[subprocess.CompletedProcess, Path]:
    """Run the test host on the plugin with the shot's frames at ``depth``; (process, dumps)."""
    tmp = shot["tmp"]
    sample = {"byte": 1, "short": 2, "float": 3}[depth]
    src = tmp / f"src_{depth}"
    if not src.exists():
        src.mkdir()
        for i, frame in enumerate(shot["source"]):
            write_mwf(src / f"{i:06d}.mwf", frame, sample)
    out = tmp / f"out{len(list(tmp.glob('out*')))}"
    out.mkdir()
    full_env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp),
                "MOTIONWRIGHT_RUNTIME_DIR": str(tmp / "run"),
                "MOTIONWRIGHT_OFX_TIMEOUT_MS": str(BUDGET_MS),
                "MOTIONWRIGHT_BIN": str(tmp / "no-motionwright-here")}
    full_env.update(env or {})
    cmd = [str(built["host"]), str(built["plugin"]), "--source", str(src), "--out", str(out),
           "--size", f"{W}x{H}", "--count", str(N), "--depth", depth, *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=full_env, timeout=timeout,
                          check=False)
    assert "VIOLATION" not in proc.stdout, proc.stdout  # e.g. a parameter set during render
    return proc, out


def actions(proc: subprocess.CompletedProcess, name: str) -> list[tuple[int, int]]:
    """(status, milliseconds) of each call of an action."""
    rows = [line.split() for line in proc.stdout.splitlines() if line.startswith("ACTION ")]
    return [(int(r[2]), int(r[3])) for r in rows if r[1] == name]


def messages(proc: subprocess.CompletedProcess) -> list[str]:
    return [line[8:] for line in proc.stdout.splitlines() if line.startswith("MESSAGE ")]


def assert_status_frame(out: Path, pass_: int, t: int, shot: dict, depth: str = "float") -> None:
    """The output is the source with a status band on top (and nothing else changed)."""
    _, img = read_dump(out / f"pass{pass_}_t{t}.raw")
    src = expected_values(_opaque(shot["source"][t]), depth)
    band = 8
    assert np.array_equal(img[band + 10:], src[band + 10:]), "below the band: the source"
    assert not np.array_equal(img[:band], src[:band]), "the band is drawn"


def test_the_host_loads_the_bundle_and_passes_the_source_through_without_a_project(built, shot):
    proc, _out = run_host(built, shot, "--times", "0,3", "--cycles", "3")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "PLUGIN org.motionwright.Motionwright OfxImageEffectPluginAPI 1" in proc.stdout
    for name in ("OfxActionLoad", "OfxActionDescribe", "OfxImageEffectActionDescribeInContext",
                 "OfxActionCreateInstance", "OfxActionDestroyInstance", "OfxActionUnload"):
        assert [s for s, _ in actions(proc, name)] == [0, 0, 0], name
    assert proc.stdout.count("IDENTITY") == 6  # no project: identity, the host copies the source
    assert "VIOLATION" not in proc.stdout and "LEAK" not in proc.stdout


@pytest.mark.parametrize("depth", ["byte", "short", "float"])
def test_the_finished_result_is_copied_exactly_at_every_depth(built, shot, depth):
    with FakeService(shot["tmp"] / "run", shot["tmp"] / "data", hold=0.3) as service:
        proc, out = run_host(built, shot, "--project", str(shot["project"]), "--clip", "1",
                             "--times", "0,2,5", "--passes", "2", "--pass-wait-ms", "900",
                             depth=depth)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert_status_frame(out, 0, 0, shot, depth)  # first pass: still rendering
    for t in (0, 2, 5):
        bounds, img = read_dump(out / f"pass1_t{t}.raw")
        assert bounds == (0, 0, W, H)
        want = expected_values(_opaque(shot["result"][t]), depth)
        assert img.dtype == want.dtype and np.array_equal(img, want), f"frame {t}"
    jobs = [p for m, p in service.requests if m == "POST" and p == "/v1/jobs"]
    assert len(jobs) == 1  # one job for the clip, followed by id afterwards
    assert all(ms < BUDGET_MS + 400 for _, ms in actions(proc, "OfxImageEffectActionRender"))


@pytest.mark.parametrize(("components", "extra"), [
    ("RGB", ["--negative-rows", "--row-padding", "7"]),
    ("Alpha", []),
    ("RGBA", ["--window", "5,4,30,20", "--window-bounds", "--negative-rows"]),
    ("RGBA", ["--window", "0,10,48,32"]),
])
def test_components_row_bytes_and_render_windows(built, shot, components, extra):
    with FakeService(shot["tmp"] / "run", shot["tmp"] / "data"):
        proc, out = run_host(built, shot, "--project", str(shot["project"]), "--clip", "1",
                             "--times", "1,4", "--passes", "2", "--pass-wait-ms", "700",
                             "--components", components, *extra, depth="byte")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for t in (1, 4):
        (x1, y1, x2, y2), img = read_dump(out / f"pass1_t{t}.raw")
        want = _opaque(shot["result"][t])[::-1][y1:y2, x1:x2][::-1]  # OFX y runs upward
        channels = {"RGBA": slice(0, 4), "RGB": slice(0, 3), "Alpha": slice(3, 4)}[components]
        want = want[..., channels]
        if "--window" in extra and "--window-bounds" not in extra:
            wx1, wy1, wx2, wy2 = (int(v) for v in extra[extra.index("--window") + 1].split(","))
            inside = img[H - wy2:H - wy1, wx1:wx2]
            assert np.array_equal(inside, want[H - wy2:H - wy1, wx1:wx2])
            outside = img[: H - wy2] if wy2 < H else img[H - wy1:]
            assert np.all(outside == 0xA5), "pixels outside the render window are not touched"
        else:
            assert np.array_equal(img, want), f"frame {t}"


def test_host_frames_are_sent_to_the_service_and_the_result_comes_back(built, shot):
    with FakeService(shot["tmp"] / "run", shot["tmp"] / "data") as service:
        proc, out = run_host(built, shot, "--project", str(shot["project"]), "--clip", "0",
                             "--times", "3", "--passes", "3", "--pass-wait-ms", "600",
                             depth="byte")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "FRAMES_NEEDED 0 5" in proc.stdout  # temporal access over the whole source
    assert ("POST", "/v1/uploads") in service.requests
    _, img = read_dump(out / "pass2_t3.raw")
    assert np.array_equal(img, _opaque(shot["result"][3]))


def test_purging_caches_sends_the_host_frames_again(built, shot):
    with FakeService(shot["tmp"] / "run", shot["tmp"] / "data") as service:
        proc, out = run_host(built, shot, "--project", str(shot["project"]), "--clip", "0",
                             "--times", "3", "--passes", "3", "--pass-wait-ms", "600",
                             "--purge", depth="byte")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert service.requests.count(("POST", "/v1/uploads")) == 3
    assert service.requests.count(("POST", "/v1/jobs")) == 3  # a new job after each purge
    assert_status_frame(out, 2, 3, shot, "byte")  # ... followed from its start again


def test_without_temporal_access_only_the_current_frame_is_asked_for(built, shot):
    proc, _ = run_host(built, shot, "--project", str(shot["project"]), "--clip", "0",
                       "--times", "2", "--no-temporal")
    assert "FRAMES_NEEDED 2 2" in proc.stdout


def test_service_absent_and_not_installed_gives_a_status_frame_saying_how(built, shot):
    proc, out = run_host(built, shot, "--project", str(shot["project"]), "--clip", "1",
                         "--times", "0,1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert_status_frame(out, 0, 0, shot)
    text = " ".join(messages(proc))
    assert "motionwright is not installed" in text and "pip install motionwright" in text
    assert len(messages(proc)) == 1  # the same message is not repeated every frame


def test_service_absent_is_started_from_instance_creation_never_describe(built, shot, tmp_path):
    marker = tmp_path / "started.txt"
    fake = tmp_path / "motionwright"
    fake.write_text(f"#!/bin/sh\necho \"$@\" >> {marker}\n")
    fake.chmod(0o755)
    proc, out = run_host(built, shot, "--project", str(shot["project"]), "--clip", "1",
                         "--times", "0", "--press-open", env={"MOTIONWRIGHT_BIN": str(fake)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    wait_for(lambda: marker.exists() and len(marker.read_text().splitlines()) >= 2)
    lines = marker.read_text().splitlines()
    assert "serve --detach" in lines  # started once (rate-limited), on creation
    assert lines.count("serve --detach") == 1
    assert f"gui {shot['project']}" in lines  # the button opens the editor on the project
    assert_status_frame(out, 0, 0, shot)


def test_service_killed_before_render(built, shot):
    run = shot["tmp"] / "run"
    run.mkdir()
    (run / "server.json").write_text(json.dumps({
        "schema": "ServerInfo.1", "url": f"http://127.0.0.1:{free_port()}", "token": "ab" * 32,
        "pid": 1, "protocol": 1, "version": "0"}))
    proc, out = run_host(built, shot, "--project", str(shot["project"]), "--clip", "1",
                         "--times", "0")
    assert proc.returncode == 0
    assert_status_frame(out, 0, 0, shot)
    assert any("not answering" in m for m in messages(proc))


def test_service_killed_mid_render(built, shot):
    service = FakeService(shot["tmp"] / "run", shot["tmp"] / "data", hold=5.0).__enter__()
    proc_env = {"MOTIONWRIGHT_OFX_TIMEOUT_MS": "600"}
    killer = threading.Timer(1.0, service.stop)
    killer.start()
    try:
        proc, out = run_host(built, shot, "--project", str(shot["project"]), "--clip", "1",
                             "--times", "0", "--passes", "3", "--pass-wait-ms", "700",
                             env=proc_env)
    finally:
        killer.join()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert_status_frame(out, 0, 0, shot)
    assert_status_frame(out, 2, 0, shot)
    assert any("not answering" in m for m in messages(proc))


@pytest.mark.parametrize("mode", ["slow", "garbage", "broken-json", "refuse"])
def test_misbehaving_service_gives_a_status_frame_within_the_bound(built, shot, mode):
    with FakeService(shot["tmp"] / "run", shot["tmp"] / "data") as service:
        service.mode, service.delay = mode, 3.0
        proc, out = run_host(built, shot, "--project", str(shot["project"]), "--clip", "1",
                             "--times", "0,1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert_status_frame(out, 0, 1, shot)
    assert all(ms < BUDGET_MS + 500 for _, ms in actions(proc, "OfxImageEffectActionRender"))
    assert messages(proc), "a message through the host's message suite"
    if mode == "refuse":
        assert any("refused the job: edits: not for this service" in m for m in messages(proc))
        assert sum(1 for m, p in service.requests if p == "/v1/jobs") == 1


def test_host_abort_returns_at_once_with_a_status_frame(built, shot):
    with FakeService(shot["tmp"] / "run", shot["tmp"] / "data") as service:
        proc, out = run_host(built, shot, "--project", str(shot["project"]), "--clip", "1",
                             "--times", "0", "--abort")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert_status_frame(out, 0, 0, shot)
    assert not service.requests
    assert all(ms < 200 for _, ms in actions(proc, "OfxImageEffectActionRender"))


def test_status_is_shown_in_the_status_parameter_outside_render(built, shot):
    with FakeService(shot["tmp"] / "run", shot["tmp"] / "data", hold=5.0):
        proc, _ = run_host(built, shot, "--project", str(shot["project"]), "--clip", "1",
                           "--times", "0")
    assert "STATUS Motionwright: rendering 34 %" in proc.stdout
    assert "VIOLATION" not in proc.stdout


@pytest.mark.slow
def test_the_harness_runs_clean_under_address_sanitizer(built, shot):
    from motionwright_bridge.ofx_build import BINARY_NAME, build_ofx, platform_folder

    root = built["root"]
    bundle = build_ofx(root / "asan", sanitize=True)
    asan = {"plugin": bundle / "Contents" / platform_folder() / BINARY_NAME,
            "host": build_host(root, sanitize=True)}
    env = {"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:exitcode=86",
           "UBSAN_OPTIONS": "halt_on_error=1:exitcode=87"}
    with FakeService(shot["tmp"] / "run", shot["tmp"] / "data"):
        proc, out = run_host(asan, shot, "--project", str(shot["project"]), "--clip", "0",
                             "--times", "0,5", "--passes", "3", "--pass-wait-ms", "800",
                             "--negative-rows", "--window", "3,3,40,30", "--window-bounds",
                             "--cycles", "2", depth="short", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert "AddressSanitizer" not in proc.stderr and "runtime error" not in proc.stderr
    _, img = read_dump(out / "pass2_t5.raw")
    want = expected_values(_opaque(shot["result"][5]), "short")[::-1][3:30, 3:40][::-1]
    assert np.array_equal(img, want)
    for mode in ("garbage", "broken-json"):
        with FakeService(shot["tmp"] / "run", shot["tmp"] / "data") as service:
            service.mode = mode
            proc, _ = run_host(asan, shot, "--project", str(shot["project"]), "--clip", "1",
                               "--times", "0", env=env)
        assert proc.returncode == 0 and "AddressSanitizer" not in proc.stderr, proc.stderr[-3000:]


def test_a_proxy_render_scale_samples_the_result_nearest(built, shot):
    with FakeService(shot["tmp"] / "run", shot["tmp"] / "data"):
        proc, out = run_host(built, shot, "--project", str(shot["project"]), "--clip", "1",
                             "--times", "3", "--passes", "2", "--pass-wait-ms", "700", "--half",
                             depth="byte")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    bounds, img = read_dump(out / "pass1_t3.raw")
    assert bounds == (0, 0, W // 2, H // 2)
    assert np.array_equal(img, _opaque(shot["result"][3])[::2, ::2])


@pytest.mark.parametrize(("text", "says"), [
    ("{not json", "unreadable"),
    (json.dumps({"url": "http://10.0.0.5:8000", "token": "ab"}), "not a loopback"),
    (json.dumps({"url": "http://127.0.0.1:80", "token": "a\r\nX-Evil: 1"}), "not a loopback"),
])
def test_a_bad_server_json_is_refused_with_a_status_frame(built, shot, text, says):
    (shot["tmp"] / "run").mkdir()
    (shot["tmp"] / "run" / "server.json").write_text(text)
    proc, out = run_host(built, shot, "--project", str(shot["project"]), "--clip", "1",
                         "--times", "0")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert_status_frame(out, 0, 0, shot)
    assert any(says in m for m in messages(proc)), messages(proc)


def test_a_killed_service_is_started_again_when_motionwright_is_installed(built, shot, tmp_path):
    run = shot["tmp"] / "run"
    run.mkdir()
    (run / "server.json").write_text(json.dumps({
        "schema": "ServerInfo.1", "url": f"http://127.0.0.1:{free_port()}", "token": "cd" * 32,
        "pid": 1, "protocol": 1, "version": "0"}))
    marker = tmp_path / "started.txt"
    fake = tmp_path / "motionwright"
    fake.write_text(f"#!/bin/sh\necho \"$@\" >> {marker}\n")
    fake.chmod(0o755)
    proc, out = run_host(built, shot, "--project", str(shot["project"]), "--clip", "1",
                         "--times", "0,1", env={"MOTIONWRIGHT_BIN": str(fake)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert_status_frame(out, 0, 1, shot)
    assert any("not answering" in m and "starting it again" in m for m in messages(proc))
    wait_for(marker.exists)
    time.sleep(0.2)  # a second launch, if any, would have written by now
    assert marker.read_text().splitlines() == ["serve --detach"]  # once: rate-limited


def test_declarations_are_truthful_and_the_edit_choice_shows_project_clips(built, shot):
    proc, _ = run_host(built, shot, "--project", str(shot["project"]), "--times", "0",
                       "--abort")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    declared = [line.split(" ", 2)[1:] for line in proc.stdout.splitlines()
                if line.startswith("DECLARED ")]
    safety = ["OfxImageEffectPluginRenderThreadSafety", "OfxImageEffectRenderInstanceSafe"]
    assert safety in declared
    assert ["OfxImageEffectPropTemporalClipAccess", "1"] in declared
    assert ["OfxImageEffectPluginPropHostFrameThreading", "0"] in declared
    assert ["OfxImageEffectPropSupportsTiles", "1"] in declared
    depths = [v for k, v in declared if k == "OfxImageEffectPropSupportedPixelDepths"]
    assert sorted(depths) == ["OfxBitDepthByte", "OfxBitDepthFloat", "OfxBitDepthShort"]
    assert "CHOICE 0 Match this clip's source media" in proc.stdout
    assert "CHOICE 1 1: shot" in proc.stdout  # relabelled from the project
    assert "CHOICE 2 Project clip 2" in proc.stdout


@pytest.mark.slow
def test_instances_render_at_once_without_data_races_under_thread_sanitizer(built, shot):
    from motionwright_bridge.ofx_build import BINARY_NAME, build_ofx, platform_folder

    root = built["root"]
    bundle = build_ofx(root / "tsan", sanitize="thread")
    tsan = {"plugin": bundle / "Contents" / platform_folder() / BINARY_NAME,
            "host": build_host(root, sanitize="thread")}
    with FakeService(shot["tmp"] / "run", shot["tmp"] / "data"):
        proc, out = run_host(tsan, shot, "--project", str(shot["project"]), "--clip", "1",
                             "--times", "0,3,5", "--passes", "4", "--pass-wait-ms", "900",
                             "--instances", "3", depth="float",
                             env={"TSAN_OPTIONS": "halt_on_error=1:exitcode=66"})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert "ThreadSanitizer" not in proc.stderr
    for i in range(3):
        for t in (0, 3, 5):
            _, img = read_dump(out / f"pass3_i{i}_t{t}.raw")
            want = expected_values(_opaque(shot["result"][t]), "float")
            assert np.array_equal(img, want), (i, t, messages(proc))
