"""The CLI through the render server: render --server, jobs, cache."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from http_helpers import make_shot, running_server

import motionwright as mw
from motionwright.bridge import request_for
from motionwright.cli.main import main


@pytest.fixture()
def served(tmp_path, monkeypatch):
    monkeypatch.setenv("MOTIONWRIGHT_RUNTIME_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("MOTIONWRIGHT_DATA_DIR", str(tmp_path / "data"))
    with running_server(tmp_path) as (server, client):
        yield server, client


def _pngs(folder):
    files = sorted(folder.rglob("*.png"))
    assert files, f"no PNG written in {folder}"
    return [f.relative_to(folder) for f in files], np.stack(
        [cv2.imread(str(f), cv2.IMREAD_UNCHANGED) for f in files])


def test_render_server_writes_what_the_in_process_render_writes(tmp_path, served, capsys):
    path, edit = make_shot(tmp_path, frames=6)
    (tmp_path / "b").mkdir()
    other, other_edit = make_shot(tmp_path / "b", frames=4, seed=8)
    project = mw.Project()
    project.add_clip(path, id="shot 1")
    project.add_edit("shot 1", edit)
    project.add_clip(other, id="shot_2")
    project.add_edit("shot_2", other_edit)
    proj = project.save(tmp_path / "p.mwproj")
    local, remote = tmp_path / "local", tmp_path / "server"
    assert main(["render", str(proj), "-o", str(local), "--codec", "png"]) == 0
    assert main(["render", str(proj), "-o", str(remote), "--codec", "png", "--server"]) == 0
    names, expected = _pngs(local)
    got_names, got = _pngs(remote)
    assert got_names == names and len(names) == 10
    np.testing.assert_array_equal(got, expected)
    # A range: the frames of the whole render (the drag is tracked over the whole clip, as
    # in-process), under the same names as an in-process render of that range.
    ranged, ranged_local = tmp_path / "ranged", tmp_path / "ranged_local"
    assert main(["render", str(proj), "-o", str(ranged), "--codec", "png", "--server",
                 "--range", "1:4"]) == 0
    assert main(["render", str(proj), "-o", str(ranged_local), "--codec", "png",
                 "--range", "1:4"]) == 0
    got_names, got = _pngs(ranged)
    assert got_names == _pngs(ranged_local)[0] and len(got_names) == 6
    np.testing.assert_array_equal(got, expected[[names.index(n) for n in got_names]])
    out = capsys.readouterr()
    assert "-> " in out.out and "job " in out.err


def test_jobs_commands(tmp_path, served, capsys):
    _, client = served
    path, edit = make_shot(tmp_path)
    view = client.submit(request_for(path, edit, label="shot_010"))
    capsys.readouterr()
    assert main(["jobs", "wait", view["id"], "--json"]) == 0
    waited = json.loads(capsys.readouterr().out)
    assert waited["id"] == view["id"] and waited["state"] == "done"
    assert main(["jobs", "list"]) == 0
    listed = capsys.readouterr().out
    assert view["id"] in listed and "done" in listed and "shot_010" in listed
    assert main(["jobs", "list", "--json", "--state", "queued"]) == 0
    assert json.loads(capsys.readouterr().out) == {"jobs": []}
    assert main(["jobs", "status", view["id"], "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["frames"] == 5
    assert main(["jobs", "cancel", view["id"]]) == 0  # a finished job stays as it is
    assert "done" in capsys.readouterr().out
    assert main(["jobs", "status", "nosuchjob"]) == 2
    assert "nosuchjob" in capsys.readouterr().err
    assert main(["cache", "info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["entries"] == 1 and info["bytes"] > 0
    assert main(["cache", "clear"]) == 0
    assert "cleared; 0 results" in capsys.readouterr().out
    assert main(["jobs", "delete", view["id"]]) == 0
    assert f"deleted {view['id']}" in capsys.readouterr().out
    assert main(["jobs", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"jobs": []}


def test_jobs_without_a_server_says_how_to_start_one(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MOTIONWRIGHT_RUNTIME_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("MOTIONWRIGHT_DATA_DIR", str(tmp_path / "data"))
    assert main(["jobs", "list"]) == 2
    assert "motionwright serve --detach" in capsys.readouterr().err
    assert main(["cache", "info", "--json"]) == 0  # the data folder directly
    assert json.loads(capsys.readouterr().out)["entries"] == 0
