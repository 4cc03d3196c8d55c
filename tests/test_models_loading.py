"""Loading tiny random models of every family through the real store and loading code."""

from __future__ import annotations

import shutil

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")

from motionwright.errors import BackendUnavailableError, InvalidInputError  # noqa: E402
from motionwright.models.device import select_device, select_dtype  # noqa: E402
from motionwright.models.errors import ModelMismatchError, ModelNotFoundError  # noqa: E402
from motionwright.models.families import FAMILIES  # noqa: E402
from motionwright.models.loading import Models, check_model, load_model  # noqa: E402
from motionwright.models.memory import get_policy  # noqa: E402
from motionwright.models.store import ModelSpec, ModelStore  # noqa: E402
from tiny_models import TINY_EMBED, tiny_model  # noqa: E402

PIPELINES = {"svd": "StableVideoDiffusionPipeline", "sd15": "StableDiffusionPipeline",
             "animatediff": "AnimateDiffPipeline", "zeroscope": "TextToVideoSDPipeline",
             "cogvideox": "CogVideoXPipeline"}


def copy_model(family, tmp_path):
    target = tmp_path / family
    shutil.copytree(tiny_model(family), target)
    return target


@pytest.mark.parametrize("family", list(PIPELINES))
def test_every_family_loads_through_the_store(family):
    ModelStore().add(family, tiny_model(family))
    loaded = load_model(family, device="cpu")
    assert type(loaded.pipeline).__name__ == PIPELINES[family]
    assert loaded.identity["family"] == family
    assert loaded.identity["embedding_dim"] == TINY_EMBED
    assert len(loaded.identity["fingerprint"]) == 16
    assert loaded.dtype == torch.float32 and loaded.device.type == "cpu"
    assert "config file" in loaded.spec.source
    params = next(loaded.denoiser.parameters())
    assert params.dtype == torch.float32


@pytest.mark.parametrize("family", list(PIPELINES))
def test_check_reports_each_component(family):
    reports = check_model(ModelSpec(family, tiny_model(family)))
    assert reports and all(r.status == "ok" for r in reports), reports
    models = [r for r in reports if r.parameters]
    assert models and all(r.dtype == "fp32" and r.size_bytes > 0 for r in models)
    assert FAMILIES[family].denoiser in {r.name for r in reports}


def test_check_reports_what_is_missing(tmp_path):
    root = copy_model("svd", tmp_path)
    (root / "vae" / "diffusion_pytorch_model.safetensors").unlink()
    reports = check_model(ModelSpec("svd", root))
    assert [r.status for r in reports] == ["missing"]
    assert "vae/diffusion_pytorch_model.safetensors is missing" in reports[0].message


def test_corrupt_weights_are_a_mismatch_naming_the_component(tmp_path):
    root = copy_model("svd", tmp_path)
    (root / "unet" / "diffusion_pytorch_model.safetensors").write_bytes(b"garbage" * 10)
    with pytest.raises(ModelMismatchError) as info:
        load_model("svd", root, device="cpu")
    assert "cannot load unet" in str(info.value) and "svd model" in str(info.value)
    statuses = {r.name: r.status for r in check_model(ModelSpec("svd", root))}
    assert statuses["unet"] == "error" and statuses["vae"] == "ok"


def test_single_file_weights_with_a_config_folder(tmp_path):
    from safetensors.torch import save_file

    reference = load_model("svd", tiny_model("svd"), device="cpu")
    state = {k: v.contiguous() for k, v in reference.pipeline.unet.state_dict().items()}
    weights = tmp_path / "finetuned-unet.safetensors"
    save_file({k: v + 1.0 for k, v in state.items()}, str(weights))
    config = copy_model("svd", tmp_path)
    (config / "unet" / "diffusion_pytorch_model.safetensors").unlink()  # configs only
    ModelStore().add("svd", weights, config=config)
    loaded = load_model("svd", device="cpu")
    assert loaded.layout.weights_file == weights.resolve()
    name = "conv_in.weight"
    assert torch.equal(loaded.pipeline.unet.state_dict()[name], state[name] + 1.0)
    assert loaded.identity == reference.identity  # same architecture, same fingerprint


def test_single_file_of_another_family_is_refused(tmp_path):
    from safetensors.torch import save_file

    sd = load_model("sd15", tiny_model("sd15"), device="cpu")
    weights = tmp_path / "sd-unet.safetensors"
    save_file({k: v.contiguous() for k, v in sd.pipeline.unet.state_dict().items()},
              str(weights))
    with pytest.raises(ModelMismatchError) as info:
        load_model("svd", {"path": weights, "config": tiny_model("svd")}, device="cpu")
    assert "does not hold svd unet weights" in str(info.value)
    assert "another family" in str(info.value)


def test_pickled_checkpoint_is_never_unpickled(tmp_path):
    ckpt = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {"x": torch.zeros(1)}, "payload": object()}, str(ckpt))
    with pytest.raises(ModelMismatchError, match="not a readable checkpoint"):
        load_model("svd", {"path": ckpt, "config": tiny_model("svd")}, device="cpu")


def test_missing_model_is_a_one_line_error(tmp_path):
    with pytest.raises(ModelNotFoundError) as info:
        load_model("svd", device="cpu")
    assert "motionwright models add svd PATH" in str(info.value)
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        load_model("svd", tmp_path / "missing", device="cpu")


def test_loading_is_offline(monkeypatch):
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted while loading a model")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    loaded = load_model("sd15", tiny_model("sd15"), device="cpu")
    assert loaded.pipeline.tokenizer("a cat runs").input_ids
    import os

    import huggingface_hub.constants as hub

    assert os.environ["HF_HUB_OFFLINE"] == "1" and hub.HF_HUB_OFFLINE is True


def test_a_hub_name_is_not_downloaded():
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        load_model("svd", "stabilityai/stable-video-diffusion-img2vid", device="cpu")


def test_device_and_dtype_selection():
    assert select_device("cpu").type == "cpu"
    assert select_dtype("auto", "cpu") == torch.float32
    assert select_dtype("bf16", "cpu") == torch.bfloat16
    with pytest.raises(InvalidInputError, match="fp16 is not supported on the CPU"):
        select_dtype("fp16", "cpu")
    with pytest.raises(InvalidInputError, match="dtype: expected"):
        select_dtype("int8", "cpu")
    with pytest.raises(InvalidInputError, match="device: expected"):
        select_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(BackendUnavailableError, match="--device cpu"):
            select_device("cuda")


def test_models_cache_loads_once_and_validates():
    models = Models({"svd": tiny_model("svd")}, device="cpu")
    first = models.get("svd")
    assert models.get("svd") is first
    with pytest.raises(InvalidInputError, match="family"):
        Models({"sdxl": "/x"})
    with pytest.raises(InvalidInputError, match="models: expected"):
        Models(3.5)
    models.release()
    assert models.get("svd") is not first


def test_placement_for_generation_follows_the_policy():
    loaded = load_model("svd", tiny_model("svd"), device="cpu")
    loaded.place(get_policy("lowvram"))
    assert loaded.placement.name == "lowvram"
    block = loaded.pipeline.unet.down_blocks[0].attentions[0].temporal_transformer_blocks[0]
    assert block._chunk_size == 1
    loaded.place(get_policy("gpu"))
    assert block._chunk_size is None
    loaded.reset_placement()
    assert loaded.placement is None


def test_animatediff_adapter_on_the_sd15_base():
    ModelStore().add("sd15", tiny_model("sd15"))
    ModelStore().add("animatediff", tiny_model("motion_adapter"))
    loaded = load_model("animatediff", device="cpu")
    assert type(loaded.pipeline).__name__ == "AnimateDiffPipeline"
    assert type(loaded.denoiser).__name__ == "UNetMotionModel"
    assert loaded.layout.adapter == tiny_model("motion_adapter").resolve()
    reports = check_model(ModelSpec("animatediff", tiny_model("motion_adapter")))
    assert {r.name for r in reports} >= {"unet", "motion_adapter"}
    assert all(r.status == "ok" for r in reports), reports
