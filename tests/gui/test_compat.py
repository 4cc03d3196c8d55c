"""Refusing PySide6 builds that would crash the editor mid-session."""

from __future__ import annotations

import PySide6
import pytest

import motionwright as mw
from motionwright_gui import compat
from motionwright_gui.__main__ import main as gui_main


@pytest.mark.parametrize(("pyside", "python", "bad"), [
    ("6.12.0", (3, 11), True),
    ("6.12.0", (3, 12), False),
    ("6.11.3", (3, 11), False),
    ("6.6.3.1", (3, 11), False),
    ("6.5.3", (3, 11), True),
])
def test_known_bad_combinations(pyside, python, bad):
    problem = compat.pyside_problem(pyside, python)
    assert (problem is not None) == bad
    if bad:
        assert compat.SUPPORTED_PYSIDE in problem and pyside in problem


def test_installed_pyside_is_supported_and_sound():
    assert compat.pyside_problem(PySide6.__version__) is None
    assert compat.none_refcount_drift(256) > -128
    compat.check_pyside()


def test_known_bad_install_is_refused_with_the_fix(monkeypatch):
    version = compat.version_tuple(PySide6.__version__)[:3]
    monkeypatch.setitem(compat.BAD_PYSIDE, version, (99, 0))
    with pytest.raises(mw.errors.MissingExtraError, match="pip install 'PySide6-Essentials"):
        compat.check_pyside()


def test_build_seen_dropping_references_is_refused(monkeypatch):
    monkeypatch.setattr(compat, "none_refcount_drift", lambda calls: -calls)
    with pytest.raises(mw.errors.MissingExtraError, match="drops references to None"):
        compat.check_pyside()


def test_gui_command_refuses_before_opening_a_window(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(compat, "none_refcount_drift", lambda calls: -calls)
    assert gui_main([str(tmp_path)]) == 2
    assert "supported version" in capsys.readouterr().err
