"""The cache key changes with everything that decides a render's pixels, and only with that."""

import os

import numpy as np
from service_helpers import drag_for, request_for

import motionwright as mw
from motionwright.service import cache as cache_mod
from motionwright.service.cache import ResultCache, request_key
from motionwright.service.framefile import frame_name, write_frame
from motionwright.service.request import parse_request


def test_the_key_follows_source_range_edits_settings_and_version(tmp_path, monkeypatch):
    from motionwright.synthetic import make_moving_objects

    scene = make_moving_objects(4, (32, 24), seed=2, num_objects=1, max_speed=1)
    media = tmp_path / "media"
    media.mkdir()
    src = str(media / "a.%03d.png")
    mw.Clip.from_frames(scene.frames).save(src, codec="png")

    def key(**changes):
        d = {**request_for(src, [drag_for(scene)]), **changes}
        return request_key(parse_request(d, data_dir=tmp_path))

    base = key()
    assert key() == base and key(label="renamed") == base  # a label changes no pixel
    (media / "notes.txt").write_text("not a frame")  # other files in the folder do not count
    assert key() == base
    assert key(source={"path": src, "start": 1}) != base
    assert key(edits=[drag_for(scene, 4).to_dict()]) != base
    assert key(settings={"seed": 3}) != base
    assert key(output={"sample": "uint16"}) != base
    frame = media / "a.002.png"
    st = frame.stat()
    os.utime(frame, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # the source changed
    changed = key()
    assert changed != base
    monkeypatch.setattr(cache_mod, "__version__", "9.9.9")
    assert key() != changed


def test_entries_are_used_least_recently_first_out(tmp_path):
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(2):
        write_frame(frames / frame_name(i), np.zeros((8, 8, 3), np.uint8), "uint8")
    per_entry = 2 * (32 + 8 * 8 * 4)
    cache = ResultCache(tmp_path / "cache", max_bytes=2 * per_entry + 400)
    keys = [f"{i:064x}" for i in range(3)]
    cache.put(keys[0], frames, 2, "uint8")
    cache.put(keys[1], frames, 2, "uint8")
    os.utime(tmp_path / "cache" / keys[1] / "entry.json", (1, 1))  # long unused
    assert cache.lookup(keys[0])["frames"] == 2  # used now
    cache.put(keys[2], frames, 2, "uint8")
    assert cache.lookup(keys[1]) is None and cache.lookup(keys[0]) is not None
    info = cache.info()
    assert info["entries"] == 2 and info["max_bytes"] == 2 * per_entry + 400
    assert cache.clear()["entries"] == 0 and cache.lookup(keys[0]) is None
    assert all((frames / frame_name(i)).is_file() for i in range(2))  # the job keeps its own
