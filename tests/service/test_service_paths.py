"""Where the service keeps its files: the environment decides, folders are private."""

import stat

from motionwright.service import paths


def test_runtime_dir_follows_the_documented_order(tmp_path, monkeypatch):
    for var in ("MOTIONWRIGHT_RUNTIME_DIR", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert paths.runtime_dir() == tmp_path / "home" / ".config" / "motionwright" / "run"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    assert paths.runtime_dir() == tmp_path / "cfg" / "motionwright" / "run"
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "xdg"))
    assert paths.runtime_dir() == tmp_path / "xdg" / "motionwright"
    monkeypatch.setenv("MOTIONWRIGHT_RUNTIME_DIR", str(tmp_path / "mine"))
    got = paths.runtime_dir()
    assert got == tmp_path / "mine" and stat.S_IMODE(got.stat().st_mode) == 0o700


def test_data_dir_follows_the_documented_order(tmp_path, monkeypatch):
    for var in ("MOTIONWRIGHT_DATA_DIR", "XDG_DATA_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert paths.data_dir() == tmp_path / "home" / ".local" / "share" / "motionwright"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    assert paths.data_dir() == tmp_path / "share" / "motionwright"
    monkeypatch.setenv("MOTIONWRIGHT_DATA_DIR", str(tmp_path / "data"))
    got = paths.data_dir()
    assert got == tmp_path / "data" and stat.S_IMODE(got.stat().st_mode) == 0o700


def test_the_service_imports_without_torch_or_diffusers():
    import os
    import subprocess
    import sys

    code = ("import sys, motionwright.service as s; s.Service; "
            "import motionwright.service.executor, motionwright.service.cache; "
            "print(sorted(m for m in ('torch', 'diffusers', 'aiohttp', 'ray') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
                         check=True)
    assert out.stdout.strip() == "[]"
