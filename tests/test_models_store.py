"""The model store, config file and layout checks (no weights are read; no torch needed)."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from motionwright.errors import CorruptFileError, InvalidInputError, MediaNotFoundError
from motionwright.models import config as mwconfig
from motionwright.models.errors import ModelMismatchError, ModelNotFoundError
from motionwright.models.families import get_family
from motionwright.models.layout import fingerprint, inspect_layout, model_identity
from motionwright.models.store import ModelSpec, ModelStore, configured_models, resolve_model

SVD_COMPONENTS = {
    "unet": ("diffusers", "UNetSpatioTemporalConditionModel"),
    "vae": ("diffusers", "AutoencoderKLTemporalDecoder"),
    "image_encoder": ("transformers", "CLIPVisionModelWithProjection"),
    "scheduler": ("diffusers", "EulerDiscreteScheduler"),
    "feature_extractor": ("transformers", "CLIPImageProcessor"),
}
SD15_COMPONENTS = {
    "unet": ("diffusers", "UNet2DConditionModel"),
    "vae": ("diffusers", "AutoencoderKL"),
    "text_encoder": ("transformers", "CLIPTextModel"),
    "tokenizer": ("transformers", "CLIPTokenizer"),
    "scheduler": ("diffusers", "PNDMScheduler"),
    "safety_checker": (None, None),
    "feature_extractor": (None, None),
}


def fake_model(root: Path, pipeline: str, components: dict, *, variant: str = "") -> Path:
    """A folder with the files of a diffusers model (configs real, weights placeholder bytes)."""
    root.mkdir(parents=True, exist_ok=True)
    index = {"_class_name": pipeline, "_diffusers_version": "0.30.0"}
    suffix = f".{variant}" if variant else ""
    for name, (lib, cls) in components.items():
        index[name] = [lib, cls]
        if cls is None:
            continue
        folder = root / name
        folder.mkdir(exist_ok=True)
        if name == "scheduler":
            (folder / "scheduler_config.json").write_text(json.dumps({"_class_name": cls}))
        elif name == "feature_extractor":
            (folder / "preprocessor_config.json").write_text("{}")
        elif name == "tokenizer":
            (folder / "tokenizer.json").write_text("{}")
        else:
            config = {"_class_name": cls, "cross_attention_dim": 1024, "block_out_channels":
                      [320, 640]} if lib == "diffusers" else {"architectures": [cls]}
            (folder / "config.json").write_text(json.dumps(config))
            stem = "diffusion_pytorch_model" if lib == "diffusers" else "model"
            (folder / f"{stem}{suffix}.safetensors").write_bytes(b"\0" * 16)
    (root / "model_index.json").write_text(json.dumps(index))
    return root


@pytest.fixture
def svd_dir(tmp_path):
    return fake_model(tmp_path / "svd", "StableVideoDiffusionPipeline", SVD_COMPONENTS)


# --- config file ---------------------------------------------------------------------------

def test_config_dir_precedence(tmp_path, monkeypatch):
    assert mwconfig.config_dir() == tmp_path / "cfg"
    monkeypatch.delenv("MOTIONWRIGHT_CONFIG_DIR")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert mwconfig.config_dir() == tmp_path / "xdg" / "motionwright"
    assert mwconfig.config_path().name == "config.toml"


def test_toml_writer_round_trips_awkward_values(tmp_path):
    data = {"top": 1, "models": {"svd": {"path": 'C:\\models\\"svd"\n\tx ü', "n": 3,
                                         "f": 0.25, "on": True, "tags": ["a", "b"]},
                                "sd15": {"path": "/m/sd15"}},
            "odd key": {"x y": "z"}}
    path = mwconfig.write_config(data, tmp_path / "c.toml")
    assert tomllib.loads(path.read_text(encoding="utf-8")) == data


def test_toml_writer_rejects_unstorable_values(tmp_path):
    with pytest.raises(InvalidInputError, match=re.escape("models.x")):
        mwconfig.dumps({"models": {"x": float("nan")}})
    with pytest.raises(InvalidInputError, match="object"):
        mwconfig.dumps({"a": object()})


def test_corrupt_config_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "cfg" / "config.toml"
    bad.parent.mkdir(parents=True)
    bad.write_text("[models\npath = 1")
    with pytest.raises(CorruptFileError, match="not valid TOML"):
        ModelStore().entries()


# --- store ---------------------------------------------------------------------------------

def test_add_list_remove_round_trip(svd_dir):
    store = ModelStore()
    spec = store.add("SVD", svd_dir)
    assert spec.family == "svd" and spec.path == svd_dir.resolve()
    assert tomllib.loads(store.path.read_text())["models"]["svd"]["path"] == str(svd_dir.resolve())
    again = ModelStore().spec("svd")
    assert again.path == svd_dir.resolve() and "config file" in again.source
    assert set(configured_models()) == {"svd"}
    assert store.remove("svd") is True
    assert store.remove("svd") is False
    assert ModelStore().spec("svd") is None


def test_add_keeps_other_sections(svd_dir):
    store = ModelStore()
    mwconfig.write_config({"server": {"port": 8765}})
    store.add("svd", svd_dir)
    data = mwconfig.read_config()
    assert data["server"] == {"port": 8765} and "svd" in data["models"]


def test_add_checks_the_files_first(tmp_path):
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        ModelStore().add("svd", tmp_path / "nowhere")
    assert not ModelStore().path.exists()


def test_unknown_family_is_rejected():
    with pytest.raises(InvalidInputError, match="family: expected one of svd, sd15"):
        get_family("sdxl")


def test_missing_model_names_family_and_command():
    with pytest.raises(ModelNotFoundError) as info:
        resolve_model("svd")
    text = str(info.value)
    assert "no svd model configured" in text
    assert "motionwright models add svd PATH" in text and "--model PATH" in text
    assert "\n" not in text
    assert isinstance(info.value, MediaNotFoundError)


def test_resolution_precedence(svd_dir, tmp_path, monkeypatch):
    ModelStore().add("svd", svd_dir)
    assert "config file" in resolve_model("svd").source
    monkeypatch.setenv("MOTIONWRIGHT_MODELS", f"svd={tmp_path / 'joined'}")
    assert resolve_model("svd").path == tmp_path / "joined"
    assert resolve_model("svd").source == "MOTIONWRIGHT_MODELS"
    monkeypatch.setenv("MOTIONWRIGHT_MODEL_SVD", str(tmp_path / "env"))
    assert resolve_model("svd").path == tmp_path / "env"
    assert resolve_model("svd", tmp_path / "cli").path == tmp_path / "cli"
    spec = resolve_model("svd", {"path": str(tmp_path / "f"), "config": str(tmp_path / "c")})
    assert spec.config == tmp_path / "c"


def test_models_variable_must_be_family_equals_path(monkeypatch):
    monkeypatch.setenv("MOTIONWRIGHT_MODELS", "just/a/path")
    with pytest.raises(InvalidInputError, match="FAMILY=PATH"):
        resolve_model("svd")
    monkeypatch.setenv("MOTIONWRIGHT_MODELS", "sdxl=/x")
    with pytest.raises(InvalidInputError, match="MOTIONWRIGHT_MODELS"):
        resolve_model("svd")


def test_explicit_model_of_wrong_type():
    with pytest.raises(InvalidInputError, match="models: expected a path"):
        resolve_model("svd", 42)
    with pytest.raises(InvalidInputError, match="'path'"):
        resolve_model("svd", {"config": "/x"})


# --- layout --------------------------------------------------------------------------------

def test_complete_folder_passes(svd_dir):
    layout = inspect_layout(get_family("svd"), svd_dir)
    assert layout.pipeline_class == "StableVideoDiffusionPipeline"
    assert set(layout.components) == set(SVD_COMPONENTS)
    assert layout.components["unet"].variant is None
    assert layout.size_bytes == 3 * 16


def test_fp16_variant_is_detected(tmp_path):
    root = fake_model(tmp_path / "v", "StableVideoDiffusionPipeline", SVD_COMPONENTS,
                      variant="fp16")
    layout = inspect_layout(get_family("svd"), root)
    assert layout.components["unet"].variant == "fp16"


def test_missing_weights_file_is_named(svd_dir):
    (svd_dir / "unet" / "diffusion_pytorch_model.safetensors").unlink()
    with pytest.raises(ModelNotFoundError) as info:
        inspect_layout(get_family("svd"), svd_dir)
    text = str(info.value)
    assert "svd model" in text and "unet/diffusion_pytorch_model.safetensors is missing" in text
    assert "motionwright models add svd PATH" in text


def test_missing_component_folder_and_config_are_named(svd_dir):
    (svd_dir / "scheduler" / "scheduler_config.json").unlink()
    missing = re.escape("scheduler/scheduler_config.json is missing")
    with pytest.raises(ModelNotFoundError, match=missing):
        inspect_layout(get_family("svd"), svd_dir)
    import shutil

    shutil.rmtree(svd_dir / "vae")
    with pytest.raises(ModelNotFoundError, match="the folder vae/ is missing"):
        inspect_layout(get_family("svd"), svd_dir)


def test_missing_shard_is_named(svd_dir):
    unet = svd_dir / "unet"
    (unet / "diffusion_pytorch_model.safetensors").unlink()
    (unet / "diffusion_pytorch_model.safetensors.index.json").write_text(json.dumps(
        {"weight_map": {"a": "diffusion_pytorch_model-00001-of-00002.safetensors",
                        "b": "diffusion_pytorch_model-00002-of-00002.safetensors"}}))
    (unet / "diffusion_pytorch_model-00001-of-00002.safetensors").write_bytes(b"x")
    missing = re.escape("00002-of-00002.safetensors is missing")
    with pytest.raises(ModelNotFoundError, match=missing):
        inspect_layout(get_family("svd"), svd_dir)


def test_model_of_another_family_is_refused(tmp_path):
    sd = fake_model(tmp_path / "sd", "StableDiffusionPipeline", SD15_COMPONENTS)
    with pytest.raises(ModelMismatchError) as info:
        inspect_layout(get_family("svd"), sd)
    text = str(info.value)
    assert "StableDiffusionPipeline" in text and "not a svd model" in text
    assert "motionwright models add sd15" in text
    assert inspect_layout(get_family("sd15"), sd).components["unet"].class_name == (
        "UNet2DConditionModel")


def test_component_of_wrong_class_is_refused(svd_dir):
    (svd_dir / "unet" / "config.json").write_text(json.dumps({"_class_name": "UNet2DModel"}))
    with pytest.raises(ModelMismatchError, match="describes a UNet2DModel"):
        inspect_layout(get_family("svd"), svd_dir)


def test_corrupt_index_is_refused(svd_dir):
    (svd_dir / "model_index.json").write_text("{not json")
    with pytest.raises(ModelMismatchError, match=re.escape("not a valid model_index.json")):
        inspect_layout(get_family("svd"), svd_dir)


def test_folder_that_is_not_a_model(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(b"jpeg")
    with pytest.raises(ModelMismatchError, match="not a diffusers model folder"):
        inspect_layout(get_family("svd"), folder)


def test_single_component_folder_names_its_family(tmp_path):
    folder = tmp_path / "unet_only"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"_class_name": "UNet3DConditionModel"}))
    with pytest.raises(ModelMismatchError, match="zeroscope"):
        inspect_layout(get_family("svd"), folder)


def test_single_file_needs_a_config_folder(tmp_path, svd_dir):
    import numpy as np
    from safetensors.numpy import save_file

    weights = tmp_path / "unet.safetensors"
    save_file({"conv_in.weight": np.zeros((2, 2), np.float32)}, str(weights))
    with pytest.raises(ModelNotFoundError) as info:
        inspect_layout(get_family("svd"), weights)
    assert "--config FOLDER" in str(info.value)
    (svd_dir / "unet" / "diffusion_pytorch_model.safetensors").unlink()  # weights optional
    layout = inspect_layout(get_family("svd"), weights, svd_dir)
    assert layout.weights_file == weights and layout.root == svd_dir


def test_single_file_that_is_not_weights(tmp_path, svd_dir):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ModelMismatchError, match="not a weights file"):
        inspect_layout(get_family("svd"), text, svd_dir)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00\x01garbage")
    with pytest.raises(ModelMismatchError, match="not a readable safetensors"):
        inspect_layout(get_family("svd"), junk, svd_dir)


def test_animatediff_adapter_uses_the_sd15_base(tmp_path):
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "config.json").write_text(json.dumps({"_class_name": "MotionAdapter"}))
    (adapter / "diffusion_pytorch_model.safetensors").write_bytes(b"\0")
    with pytest.raises(ModelNotFoundError, match="models add sd15"):
        ModelSpec("animatediff", adapter).layout()
    sd = fake_model(tmp_path / "sd", "StableDiffusionPipeline", SD15_COMPONENTS)
    ModelStore().add("sd15", sd)
    layout = ModelSpec("animatediff", adapter).layout()
    assert layout.adapter == adapter and layout.root == sd.resolve()


def test_fingerprint_ignores_paths_and_versions_but_not_architecture():
    fam = get_family("svd")
    base = {"_class_name": "UNetSpatioTemporalConditionModel", "cross_attention_dim": 1024,
            "num_frames": 14, "_name_or_path": "/a", "_diffusers_version": "0.30"}
    moved = dict(base, _name_or_path="/b", _diffusers_version="0.42")
    assert fingerprint(fam, base) == fingerprint(fam, moved)
    assert fingerprint(fam, base) != fingerprint(fam, dict(base, num_frames=25))
    ident = model_identity(fam, base)
    assert ident == {"family": "svd", "embedding_dim": 1024, "fingerprint": fingerprint(fam, base)}


def test_cli_add_says_when_the_diffusion_extra_is_missing(svd_dir, monkeypatch, capsys):
    import motionwright.cli.cmd_models as cmd_models
    from motionwright.cli.main import main

    monkeypatch.setattr(cmd_models, "find_spec", lambda name: None)
    assert main(["models", "add", "svd", str(svd_dir)]) == 0
    assert "needs the 'diffusion' extra" in capsys.readouterr().out
    monkeypatch.setattr(cmd_models, "find_spec", lambda name: object())
    assert main(["models", "add", "svd", str(svd_dir)]) == 0
    assert "extra" not in capsys.readouterr().out
