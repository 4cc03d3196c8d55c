"""The package imports with only the core dependencies and exposes the public API."""

import subprocess
import sys
import textwrap
import types

import pytest

import motionwright as mw

PUBLIC = ["Clip", "PointSet", "Trajectory", "Mask", "MotionEmbedding", "DragEdit",
          "TrajectoryEdit", "MotionTransfer", "PromptEdit", "GuidedGeneration", "Project",
          "render", "track", "learn_motion", "segment", "segment_clip", "Timecode",
          "CancelToken"]


def test_public_names_resolve():
    for name in PUBLIC:
        assert getattr(mw, name) is not None, name
    with pytest.raises(AttributeError):
        mw.NoSuchThing  # noqa: B018


def test_functions_are_not_shadowed_by_submodules():
    """Importing a submodule must not replace a public function of the same name."""
    import importlib.util

    from motionwright import _EXPORTS

    for name, module in _EXPORTS.items():
        importlib.import_module(module)
        if importlib.util.find_spec(f"motionwright.{name}") is not None:
            importlib.import_module(f"motionwright.{name}")
        if name not in ("errors", "limits"):  # the two modules exported on purpose
            assert not isinstance(getattr(mw, name), types.ModuleType), name


def test_import_needs_no_heavy_extra():
    """With torch, diffusers, transformers and Qt made unimportable, the SDK still works."""
    script = textwrap.dedent(
        """
        import sys
        BLOCKED = ("torch", "diffusers", "transformers", "accelerate", "PySide6",
                   "motionwright_gui", "motionwright_bridge")

        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in BLOCKED:
                    raise ImportError(f"blocked {name}")
                return None

        sys.meta_path.insert(0, Block())
        import numpy as np
        import motionwright as mw
        for name in %r:
            getattr(mw, name)
        clip = mw.Clip.from_frames(np.zeros((2, 8, 8, 3), np.uint8), fps=24)
        assert len(clip) == 2
        print("ok")
        """
    ) % (PUBLIC,)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_every_package_is_in_the_distribution():
    """Each folder with an __init__.py ships in the wheel (pyproject lists packages by hand)."""
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    listed = set(tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])
    found = set()
    for base in ("sdk", "gui", "plugin"):
        for init in (root / base).rglob("__init__.py"):
            found.add(".".join(init.parent.relative_to(root / base).parts))
    found.add("motionwright_resources")
    # Data-only packages (C sources, scripts) are mapped to their folders in package-dir.
    package_dir = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-dir"]
    found |= {name for name, folder in package_dir.items()
              if "." in name and (root / folder).is_dir()
              and not (root / folder / "__init__.py").exists()}
    assert found == listed
