"""The OpenFX plugin against the real render service (``Service`` behind the aiohttp server on
a loopback port, in temporary folders): the copied frames equal ``mw.render`` of the same edit,
rendering from the project's media and from frames the host sends."""

from __future__ import annotations

import time

import numpy as np
import pytest

import motionwright as mw
from ofx_support import expected_values, read_dump
from test_ofx_plugin import _opaque, built, fresh_thread_render, run_host, shot  # noqa: F401

pytest.importorskip("aiohttp")


@pytest.fixture()
def real_service(shot):  # noqa: F811
    from motionwright.service import Service
    from motionwright.service.server import BackgroundServer

    service = Service(shot["tmp"] / "data", workers=1).start()
    server = BackgroundServer(service, runtime_dir=shot["tmp"] / "run").start()
    yield service
    server.stop()
    service.stop(drain=False)


@pytest.mark.parametrize(("clip", "depth"), [("1", "float"), ("1", "byte"), ("0", "short")])
def test_plugin_pixels_equal_the_sdk_render_through_the_service(built, shot, real_service,  # noqa: F811
                                                                 clip, depth):
    proc, out = run_host(built, shot, "--project", str(shot["project"]), "--clip", clip,
                         "--times", "0,4", "--passes", "6", "--pass-wait-ms", "700",
                         depth=depth, env={"MOTIONWRIGHT_OFX_TIMEOUT_MS": "2000"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    jobs = real_service.jobs()
    assert len(jobs) == 1 and jobs[0]["state"] == "done", jobs
    deep = None
    if clip == "0" and depth == "short":
        # Host frames sent at 16 bits are rendered at 16 bits by the service.
        frames = shot["source"].astype(np.uint16) * 257
        project = mw.Project.load(shot["project"])
        deep = fresh_thread_render(mw.Clip.from_frames(frames, fps=24), project.edits["shot"])
    for t in (0, 4):
        _, img = read_dump(out / f"pass5_t{t}.raw")
        want = expected_values(_opaque(shot["result"][t]), depth)
        if deep is not None:
            want = np.concatenate([deep[t], np.full((*deep.shape[1:3], 1), 65535, np.uint16)],
                                  -1)
        assert np.array_equal(img, want), (t, proc.stdout[-2000:])


def test_the_job_goes_on_after_the_host_closes_and_the_next_session_picks_it_up(
        built, shot, real_service):  # noqa: F811
    first, out = run_host(built, shot, "--project", str(shot["project"]), "--clip", "1",
                          "--times", "2", depth="byte")
    assert first.returncode == 0, first.stdout + first.stderr
    _, img = read_dump(out / "pass0_t2.raw")
    assert not np.array_equal(img, _opaque(shot["result"][2]))  # still rendering then
    (job,) = real_service.jobs()
    deadline = time.monotonic() + 60
    while real_service.job(job["id"])["state"] != "done" and time.monotonic() < deadline:
        time.sleep(0.1)
    second, out = run_host(built, shot, "--project", str(shot["project"]), "--clip", "1",
                           "--times", "2", depth="byte")
    assert second.returncode == 0, second.stdout + second.stderr
    _, img = read_dump(out / "pass0_t2.raw")
    assert np.array_equal(img, _opaque(shot["result"][2]))  # the first render of the session
