"""The DaVinci Resolve scripts against a stand-in scripting module (tests/fake_resolve) that
follows Resolve's documented signatures, and the ``motionwright bridge`` install commands."""

from __future__ import annotations

import argparse
import importlib
import runpy
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import motionwright as mw
from motionwright.edits import DragEdit
from motionwright.errors import InvalidInputError

FAKE = Path(__file__).resolve().parent / "fake_resolve"
W, H, N = 48, 32, 12


@pytest.fixture()
def dvr(monkeypatch):
    monkeypatch.syspath_prepend(str(FAKE))
    sys.modules.pop("DaVinciResolveScript", None)
    module = importlib.import_module("DaVinciResolveScript")
    yield module
    sys.modules.pop("DaVinciResolveScript", None)


@pytest.fixture()
def scene(tmp_path, dvr):
    """A 12-frame clip used on the timeline from media frame 2 for 4 frames (3 to the right
    are free), and a project next to it with a drag edit on that clip."""
    yy, xx = np.mgrid[0:H, 0:W]
    frames = np.stack([np.stack([(xx * 5 + i * 9) % 256, (yy * 7) % 256,
                                 (xx + yy + 20 * i) % 256], -1) for i in range(N)]).astype(np.uint8)
    media = mw.Clip.from_frames(frames, fps=Fraction(24)).save(tmp_path / "shot.mov",
                                                               codec="h264")
    project = mw.Project()
    ref = project.add_clip(media, id="shot")
    project.add_edit(ref.id, DragEdit(mw.PointSet(np.array([[20.0, 15.0]])),
                                      mw.PointSet(np.array([[28.0, 12.0]])),
                                      mw.Mask.from_box(8, 6, 40, 26, (W, H))))
    path = project.save(tmp_path / "shot.mwproj")
    dvr.reset(str(media), left=2, duration=4, right=3)
    return {"media": media, "project": path, "tmp": tmp_path}


def test_scripting_not_reachable_says_what_to_do(dvr, monkeypatch, tmp_path):
    from motionwright_bridge.resolve import ResolveError, connect

    dvr.reset(None, reachable=False)
    with pytest.raises(ResolveError, match="not reachable") as info:
        connect()
    assert "Studio" in str(info.value) and "External scripting" in str(info.value)
    sys.modules.pop("DaVinciResolveScript", None)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(FAKE)])
    monkeypatch.setenv("RESOLVE_SCRIPT_API", str(tmp_path))
    with pytest.raises(ResolveError, match="RESOLVE_SCRIPT_API"):
        connect()


def test_shot_under_playhead_reads_media_range_and_handles(scene, dvr):
    from motionwright_bridge.resolve import connect, shot_under_playhead

    shot = shot_under_playhead(connect(), handles=5)
    assert shot.media_path == str(scene["media"])
    assert (shot.source_start, shot.source_end) == (2, 6)
    assert (shot.handle_before, shot.handle_after) == (2, 3)  # limited by what the media has
    assert (shot.record_start, shot.record_end) == (86400, 86404)
    assert ("MediaPoolItem.GetClipProperty", "File Path") in dvr.CALLS
    with pytest.raises(InvalidInputError, match="handles"):
        shot_under_playhead(connect(), handles=-1)


def test_edit_clip_under_playhead_opens_the_editor_on_the_project(scene, monkeypatch):
    from motionwright_bridge.resolve import connect, edit_clip_under_playhead

    monkeypatch.setenv("MOTIONWRIGHT_BIN", "/opt/mw/bin/motionwright")
    launched = []
    cmd = edit_clip_under_playhead(connect(), handles=1, launch=launched.append)
    assert launched == [cmd]
    assert cmd == ["/opt/mw/bin/motionwright", "gui", str(scene["project"]), "--frame", "1"]


def test_no_project_for_the_media_is_a_clear_error(scene, dvr, tmp_path):
    from motionwright_bridge.resolve import connect, render_and_add_take

    scene["project"].unlink()
    with pytest.raises(InvalidInputError, match="no Motionwright project"):
        render_and_add_take(connect(), client=object())
    assert not [c for c in dvr.CALLS if c[0] == "TimelineItem.AddTake"]


def test_render_and_add_take_through_the_service(scene, dvr):
    pytest.importorskip("aiohttp")
    from motionwright.bridge import Client
    from motionwright.service import Service
    from motionwright.service.server import BackgroundServer
    from motionwright_bridge.resolve import connect, render_and_add_take

    service = Service(scene["tmp"] / "data", workers=1).start()
    server = BackgroundServer(service, runtime_dir=scene["tmp"] / "run").start()
    lines: list[str] = []
    try:
        client = Client.find(scene["tmp"] / "run")
        done = render_and_add_take(connect(), client=client, handles=2, progress=lines.append)
    finally:
        server.stop()
        service.stop(drain=False)
    rendered = mw.Clip.open(done["file"])
    assert len(rendered) == 8  # media frames 0..7: from the project clip's start to 6 + 2
    assert ("MediaPool.ImportMedia", [done["file"]]) in dvr.CALLS
    add = [c for c in dvr.CALLS if c[0] == "TimelineItem.AddTake"]
    assert len(add) == 1 and add[0][2:] == (2, 5)  # same in/out as the item
    assert ("TimelineItem.SelectTakeByIndex", 2) in dvr.CALLS
    assert dvr.STATE["item"].selected == 2
    assert any("rendering shot" in line for line in lines)
    assert lines[-1] == "Motionwright: added take 2 to shot_010"
    want = mw.render(mw.Clip.open(scene["media"])[0:8],
                     mw.Project.load(scene["project"]).edits["shot"]).to_array()
    assert np.abs(rendered.to_array().astype(int) - want.astype(int)).mean() < 6


def test_scripts_run_with_resolves_global_and_report_failures(scene, dvr, capsys):
    from motionwright_bridge.resolve import connect, scripts_source

    scripts = sorted(scripts_source().glob("Motionwright*.py"))
    assert [s.name for s in scripts] == ["Motionwright - Edit clip under playhead.py",
                                         "Motionwright - Render and add take.py"]
    scene["project"].unlink()
    runpy.run_path(str(scripts[1]), init_globals={"resolve": connect()})
    assert "Motionwright: project: no Motionwright project" in capsys.readouterr().out


def _bridge(argv):
    from motionwright_bridge.cli import register

    parser = argparse.ArgumentParser(prog="motionwright")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_bridge_commands_build_and_install(tmp_path, monkeypatch, capsys):
    from motionwright_bridge.ofx_build import BUNDLE_NAME

    assert _bridge(["bridge", "build-ofx", "-o", str(tmp_path / "build")]) == 0
    bundle = tmp_path / "build" / BUNDLE_NAME
    binary = bundle / "Contents" / "Linux-x86-64" / "Motionwright.ofx"
    assert binary.is_file() and (bundle / "Contents" / "Info.plist").is_file()
    assert "org.motionwright.Motionwright" in (bundle / "Contents" / "Info.plist").read_text()
    monkeypatch.setenv("OFX_PLUGIN_PATH", f"{tmp_path / 'ofx'}:{tmp_path / 'second'}")
    assert _bridge(["bridge", "install-ofx", "--bundle", str(bundle)]) == 0
    installed = tmp_path / "ofx" / BUNDLE_NAME / "Contents" / "Linux-x86-64" / "Motionwright.ofx"
    assert installed.read_bytes() == binary.read_bytes()
    assert _bridge(["bridge", "install-ofx", "--bundle", str(bundle)]) == 0  # replaces
    assert sorted(p.name for p in (tmp_path / "ofx").iterdir()) == [BUNDLE_NAME]
    assert _bridge(["bridge", "install-resolve", "--dest", str(tmp_path / "Utility")]) == 0
    assert len(list((tmp_path / "Utility").glob("Motionwright - *.py"))) == 2
    with pytest.raises(InvalidInputError, match="bundle"):
        _bridge(["bridge", "install-ofx", "--bundle", str(tmp_path)])


def test_default_folders_follow_each_platform(monkeypatch, tmp_path):
    from motionwright_bridge import ofx_build, resolve

    monkeypatch.delenv("OFX_PLUGIN_PATH", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    assert str(ofx_build.plugin_folder()) == "/usr/OFX/Plugins"
    monkeypatch.setenv("HOME", str(tmp_path))
    linux = tmp_path / ".local/share/DaVinciResolve/Fusion/Scripts/Utility"
    assert resolve.scripts_folder() == linux
    monkeypatch.setattr(sys, "platform", "darwin")
    assert str(ofx_build.plugin_folder()) == "/Library/OFX/Plugins"
    mac = "Blackmagic Design/DaVinci Resolve/Fusion/Scripts/Utility"
    assert mac in str(resolve.scripts_folder())
