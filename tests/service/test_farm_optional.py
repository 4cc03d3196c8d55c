"""Ray stays optional: the SDK and the service work without it, and ``--ray`` names the extra
(no Ray instance is started here)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import motionwright as mw
from motionwright.cli.main import main
from motionwright.service import farm

_BLOCK_RAY = "import sys; sys.modules['ray'] = None\n"


@pytest.fixture
def no_ray(monkeypatch):
    """Make ``import ray`` fail as it does where the farm extra is not installed."""
    monkeypatch.setitem(sys.modules, "ray", None)


def test_sdk_service_and_farm_module_import_without_ray():
    code = _BLOCK_RAY + (
        "import motionwright, motionwright.service, motionwright.service.farm\n"
        "from motionwright.service import Service\n"
        "assert 'ray' not in [m for m in sys.modules if sys.modules[m] is not None]\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_ray_executor_without_ray_names_the_farm_extra(no_ray):
    with pytest.raises(mw.errors.MissingExtraError, match=r"motionwright\[farm\]"):
        farm.RayExecutor("local")


def test_render_and_serve_with_ray_but_without_it_name_the_extra(no_ray, tmp_path, capsys):
    project = tmp_path / "p.mwproj"
    project.write_text("{}")
    assert main(["render", str(project), "-o", str(tmp_path / "o"), "--ray", "local"]) == 2
    err = capsys.readouterr().err
    assert "farm" in err and "pip install 'motionwright[farm]'" in err
    from motionwright.service.server import _make_service

    with pytest.raises(mw.errors.MissingExtraError, match="farm"):
        _make_service(tmp_path / "data", 1, None, "local")


@pytest.mark.parametrize("address", ["", "  ", "ray:// head", None, 6379])
def test_bad_ray_addresses_are_refused_by_name(address):
    with pytest.raises(mw.errors.InvalidInputError, match="--ray"):
        farm.check_address(address)


def test_render_refuses_a_bad_ray_address_before_any_work(tmp_path, capsys):
    assert main(["render", str(tmp_path / "missing.mwproj"), "-o", str(tmp_path / "o"),
                 "--ray", "a b"]) == 2
    assert "--ray" in capsys.readouterr().err


def test_unreachable_cluster_is_a_clear_error(monkeypatch):
    class FakeRay:
        @staticmethod
        def is_initialized():
            return False

        @staticmethod
        def init(**kwargs):
            raise ConnectionError("no cluster at 10.9.9.9:6379")

    monkeypatch.setitem(sys.modules, "ray", FakeRay)
    with pytest.raises(farm.FarmConnectionError, match=r"10\.9\.9\.9:6379.*ray start --head"):
        farm.connect("10.9.9.9:6379")


def test_diffusion_chunks_go_to_an_actor_holding_their_models():
    made = []

    class FakeActorClass:
        @staticmethod
        def remote(threads):
            made.append(threads)
            return f"actor{len(made)}"

    executor = object.__new__(farm.RayExecutor)
    executor._actors, executor.actors_wanted, executor.threads = [], 2, None
    executor._actor_class = FakeActorClass
    first = executor._actor_for("sd15|null")
    first.key, first.busy = "sd15|null", 3
    second = executor._actor_for("svd|null")  # a free GPU: a new actor
    second.key, second.busy = "svd|null", 1
    assert first is not second and len(made) == 2
    assert executor._actor_for("sd15|null") is first  # busier, but it holds the model
    third = executor._actor_for("cogvideox|null")  # no free GPU: the least busy reloads
    assert third is second and len(made) == 2


@pytest.mark.parametrize("option", [{"actors": 0}, {"threads": True}, {"num_cpus": 1.5}])
def test_bad_executor_options_are_refused_before_connecting(option):
    with pytest.raises(mw.errors.InvalidInputError, match=next(iter(option))):
        farm.RayExecutor("10.9.9.9:6379", **option)
