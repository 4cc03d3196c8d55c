"""The model families Motionwright runs, and what a complete model of each looks like on disk.

A family names a diffusers pipeline and its components. Each component is a sub-folder of a
diffusers model folder (``unet/``, ``vae/``, ...) holding a config and weights, or a tokenizer,
scheduler or image processor config. The tables here are pure data (no torch), so the CLI can
list families and check folders without importing diffusers.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InvalidInputError


@dataclass(frozen=True)
class Component:
    """One component of a pipeline: its folder, accepted class names and what kind it is.

    ``kind`` is ``"model"`` (config + weights), ``"scheduler"``, ``"tokenizer"`` or
    ``"processor"``. ``library`` is where the class lives (``"diffusers"``/``"transformers"``).
    """

    name: str
    classes: tuple[str, ...]
    kind: str
    library: str
    required: bool = True


@dataclass(frozen=True)
class Family:
    """A model family: the pipeline class, its components and how to describe it to users.

    ``denoiser`` is the component whose config fingerprints the model (``unet`` or
    ``transformer``); ``embedding_key`` is the config key of that component giving the width of
    the conditioning tokens its cross-attention reads.
    """

    name: str
    title: str
    pipelines: tuple[str, ...]
    components: tuple[Component, ...]
    denoiser: str
    embedding_key: str
    example: str
    used_by: str

    @property
    def pipeline(self) -> str:
        """The diffusers pipeline class that runs this family."""
        return self.pipelines[0]

    def component(self, name: str) -> Component:
        """The component called ``name``."""
        for comp in self.components:
            if comp.name == name:
                return comp
        raise KeyError(name)


_CLIP_PROCESSORS = ("CLIPImageProcessor", "CLIPImageProcessorPil", "CLIPImageProcessorFast",
                    "CLIPFeatureExtractor")
_CLIP_TOKENIZERS = ("CLIPTokenizer", "CLIPTokenizerFast")
_ANY_SCHEDULER = ("*Scheduler",)


def _vae(cls: str = "AutoencoderKL") -> Component:
    return Component("vae", (cls,), "model", "diffusers")


def _clip_text() -> tuple[Component, Component]:
    return (Component("text_encoder", ("CLIPTextModel",), "model", "transformers"),
            Component("tokenizer", _CLIP_TOKENIZERS, "tokenizer", "transformers"))


FAMILIES: dict[str, Family] = {
    "svd": Family(
        name="svd",
        title="Stable Video Diffusion (image-to-video)",
        pipelines=("StableVideoDiffusionPipeline",),
        components=(
            Component("unet", ("UNetSpatioTemporalConditionModel",), "model", "diffusers"),
            _vae("AutoencoderKLTemporalDecoder"),
            Component("image_encoder", ("CLIPVisionModelWithProjection",), "model",
                      "transformers"),
            Component("scheduler", ("EulerDiscreteScheduler",), "scheduler", "diffusers"),
            Component("feature_extractor", _CLIP_PROCESSORS, "processor", "transformers"),
        ),
        denoiser="unet",
        embedding_key="cross_attention_dim",
        example="stable-video-diffusion-img2vid",
        used_by="MotionTransfer (Reenact Anything), TrajectoryEdit (ReVideo)",
    ),
    "sd15": Family(
        name="sd15",
        title="Stable Diffusion 1.5 (text-to-image)",
        pipelines=("StableDiffusionPipeline",),
        components=(
            Component("unet", ("UNet2DConditionModel",), "model", "diffusers"),
            _vae(),
            *_clip_text(),
            Component("scheduler", _ANY_SCHEDULER, "scheduler", "diffusers"),
            Component("safety_checker", ("StableDiffusionSafetyChecker",), "model",
                      "transformers", required=False),
            Component("feature_extractor", _CLIP_PROCESSORS, "processor", "transformers",
                      required=False),
        ),
        denoiser="unet",
        embedding_key="cross_attention_dim",
        example="stable-diffusion-v1-5",
        used_by="DragEdit (Drag-A-Video)",
    ),
    "animatediff": Family(
        name="animatediff",
        title="AnimateDiff (SD 1.5 with a motion adapter)",
        pipelines=("AnimateDiffPipeline",),
        components=(
            Component("unet", ("UNetMotionModel", "UNet2DConditionModel"), "model", "diffusers"),
            Component("motion_adapter", ("MotionAdapter",), "model", "diffusers",
                      required=False),
            _vae(),
            *_clip_text(),
            Component("scheduler", _ANY_SCHEDULER, "scheduler", "diffusers"),
            Component("feature_extractor", _CLIP_PROCESSORS, "processor", "transformers",
                      required=False),
            Component("image_encoder", ("CLIPVisionModelWithProjection",), "model",
                      "transformers", required=False),
        ),
        denoiser="unet",
        embedding_key="cross_attention_dim",
        example="an AnimateDiff pipeline folder, or a motion adapter such as "
                "animatediff-motion-adapter-v1-5-2 (with an sd15 model added)",
        used_by="PromptEdit (Point-to-Point), GuidedGeneration (S²V2V)",
    ),
    "zeroscope": Family(
        name="zeroscope",
        title="ZeroScope / ModelScope (text-to-video)",
        pipelines=("TextToVideoSDPipeline",),
        components=(
            Component("unet", ("UNet3DConditionModel",), "model", "diffusers"),
            _vae(),
            *_clip_text(),
            Component("scheduler", _ANY_SCHEDULER, "scheduler", "diffusers"),
        ),
        denoiser="unet",
        embedding_key="cross_attention_dim",
        example="zeroscope_v2_576w",
        used_by="GuidedGeneration (S²V2V)",
    ),
    "cogvideox": Family(
        name="cogvideox",
        title="CogVideoX (text-to-video transformer)",
        pipelines=("CogVideoXPipeline",),
        components=(
            Component("transformer", ("CogVideoXTransformer3DModel",), "model", "diffusers"),
            _vae("AutoencoderKLCogVideoX"),
            Component("text_encoder", ("T5EncoderModel",), "model", "transformers"),
            Component("tokenizer", ("T5Tokenizer", "T5TokenizerFast"), "tokenizer",
                      "transformers"),
            Component("scheduler", ("CogVideoXDDIMScheduler", "CogVideoXDPMScheduler"),
                      "scheduler", "diffusers"),
        ),
        denoiser="transformer",
        embedding_key="text_embed_dim",
        example="CogVideoX-2b",
        used_by="GuidedGeneration (S²V2V)",
    ),
    # Not a pipeline: ReVideo's control module, attached to the svd model. A folder written by
    # ``motionwright train revideo`` or the authors' checkpoint file. See ``models.revideo``.
    "revideo": Family(
        name="revideo",
        title="ReVideo control module (trajectory edits on SVD)",
        pipelines=("ReVideoControlModule",),
        components=(
            Component("controlnet", ("ReVideoControlModule",), "model", "diffusers"),
        ),
        denoiser="controlnet",
        embedding_key="cross_attention_dim",
        example="the authors' ReVideo checkpoint (model.ckpt) or a folder written by "
                "`motionwright train revideo`",
        used_by="TrajectoryEdit (ReVideo, with an svd model)",
    ),
    # Not a diffusers pipeline: a transformers ``SamModel`` folder (config.json,
    # model.safetensors, a processor config) or one of Meta's official checkpoints
    # (sam_vit_*.pth) for the segment-anything package. See ``models.sam``.
    "sam": Family(
        name="sam",
        title="Segment Anything (masks from clicks and boxes)",
        pipelines=("SamModel",),
        components=(
            Component("model", ("SamModel",), "model", "transformers"),
            Component("processor", ("SamProcessor",), "processor", "transformers"),
        ),
        denoiser="model",
        embedding_key="output_channels",
        example="sam-vit-base (transformers folder) or sam_vit_b_01ec64.pth",
        used_by="mw.segment, DragEdit (Drag-A-Video foreground split)",
    ),
}

# A folder holding only one of these component classes identifies the family it belongs to.
COMPONENT_FAMILIES: dict[str, str] = {
    "UNetSpatioTemporalConditionModel": "svd",
    "UNet2DConditionModel": "sd15",
    "UNetMotionModel": "animatediff",
    "MotionAdapter": "animatediff",
    "UNet3DConditionModel": "zeroscope",
    "CogVideoXTransformer3DModel": "cogvideox",
    "SamModel": "sam",
}


def get_family(name: str) -> Family:
    """The family called ``name``, or InvalidInputError listing the known ones."""
    key = str(name).strip().lower()
    if key not in FAMILIES:
        raise InvalidInputError(
            f"family: expected one of {', '.join(FAMILIES)}, got {name!r}"
        )
    return FAMILIES[key]


def family_of_pipeline(class_name: str) -> Family | None:
    """The family whose pipeline class is ``class_name``, if any."""
    for fam in FAMILIES.values():
        if class_name in fam.pipelines:
            return fam
    return None


def class_matches(class_name: str, accepted: tuple[str, ...]) -> bool:
    """Whether ``class_name`` is one of ``accepted`` (``"*Suffix"`` matches by suffix)."""
    for want in accepted:
        if want.startswith("*") and class_name.endswith(want[1:]):
            return True
        if class_name == want:
            return True
    return False
