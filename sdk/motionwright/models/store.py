"""The model store: which local weights serve each family, and where that choice came from.

Sources, strongest first:

1. an explicit path (``--model PATH`` on the command line, ``models=`` in the SDK);
2. ``MOTIONWRIGHT_MODEL_<FAMILY>`` (e.g. ``MOTIONWRIGHT_MODEL_SVD=/models/svd``);
3. ``MOTIONWRIGHT_MODELS``: ``family=path`` entries separated by ``os.pathsep``;
4. the ``[models.<family>]`` tables of the user's ``config.toml`` (``motionwright models add``).

Each entry has a ``path`` (a diffusers folder or a single ``.safetensors``/``.ckpt`` file) and,
for a single file, a ``config`` folder supplying the configs. Nothing is ever downloaded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError
from .config import config_path, read_config, write_config
from .errors import ModelMismatchError, ModelNotFoundError
from .families import FAMILIES, Family, get_family
from .layout import ModelLayout, describe_path, inspect_layout


@dataclass(frozen=True)
class ModelSpec:
    """Where one family's model lives: ``path``, an optional ``config`` folder, and the source."""

    family: str
    path: Path
    config: Path | None = None
    source: str = "explicit"

    def layout(self) -> ModelLayout:
        """Check the files on disk (no weights are read) and return their layout."""
        config = self.config
        fam = get_family(self.family)
        if fam.name == "animatediff" and config is None and not (self.path / "model_index.json"
                                                                 ).is_file():
            try:
                config = resolve_model("sd15").path
            except ModelNotFoundError:
                config = None
        try:
            return inspect_layout(fam, self.path, config)
        except (ModelNotFoundError, ModelMismatchError) as exc:
            exc.family = fam.name
            raise

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe description (paths as strings)."""
        return {"family": self.family, "path": str(self.path),
                "config": str(self.config) if self.config else None, "source": self.source}


def _env_entries() -> dict[str, tuple[str, str]]:
    """Family -> (path, source) from the environment."""
    found: dict[str, tuple[str, str]] = {}
    joined = os.environ.get("MOTIONWRIGHT_MODELS", "")
    for item in joined.split(os.pathsep):
        item = item.strip()
        if not item:
            continue
        name, sep, value = item.partition("=")
        if not sep or name.strip().lower() not in FAMILIES or not value.strip():
            raise InvalidInputError(
                f"MOTIONWRIGHT_MODELS: expected FAMILY=PATH entries separated by "
                f"{os.pathsep!r} (families: {', '.join(FAMILIES)}), got {item!r}"
            )
        found[name.strip().lower()] = (value.strip(), "MOTIONWRIGHT_MODELS")
    for name in FAMILIES:
        var = f"MOTIONWRIGHT_MODEL_{name.upper()}"
        if os.environ.get(var):
            found[name] = (os.environ[var], var)
    return found


class ModelStore:
    """Reads and edits the ``[models]`` tables of the user's configuration file."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or config_path()

    def entries(self) -> dict[str, dict[str, Any]]:
        """Family -> ``{"path": ..., "config": ...}`` as written in the file."""
        models = read_config(self.path).get("models", {})
        if not isinstance(models, dict):
            return {}
        return {k: v for k, v in models.items() if isinstance(v, dict) and "path" in v}

    def add(self, family: str, path: str | Path, config: str | Path | None = None,
            *, check: bool = True) -> ModelSpec:
        """Record ``path`` as the ``family`` model (checking its files first unless told not to)."""
        fam = get_family(family)
        target = Path(path).expanduser().resolve()
        cfg = Path(config).expanduser().resolve() if config is not None else None
        spec = ModelSpec(fam.name, target, cfg, source=f"config file {self.path}")
        if check:
            spec.layout()
        data = read_config(self.path)
        models = data.setdefault("models", {})
        entry: dict[str, Any] = {"path": str(target)}
        if cfg is not None:
            entry["config"] = str(cfg)
        models[fam.name] = entry
        write_config(data, self.path)
        return spec

    def remove(self, family: str) -> bool:
        """Forget the ``family`` entry; returns whether there was one."""
        fam = get_family(family)
        data = read_config(self.path)
        models = data.get("models", {})
        if fam.name not in models:
            return False
        del models[fam.name]
        write_config(data, self.path)
        return True

    def spec(self, family: str) -> ModelSpec | None:
        """The spec recorded in the file for ``family``, if any."""
        entry = self.entries().get(get_family(family).name)
        if entry is None:
            return None
        config = entry.get("config")
        return ModelSpec(family, Path(str(entry["path"])).expanduser(),
                         Path(str(config)).expanduser() if config else None,
                         source=f"config file {self.path}")


def resolve_model(family: str | Family, explicit: Any = None, *,
                  store: ModelStore | None = None) -> ModelSpec:
    """Which model serves ``family``: ``explicit`` if given, else the environment, else the file.

    ``explicit`` may be a path, a :class:`ModelSpec`, or ``{"path": ..., "config": ...}``.
    Raises :class:`ModelNotFoundError` with the command that adds a model when none is set.
    """
    fam = family if isinstance(family, Family) else get_family(family)
    if explicit is not None:
        if isinstance(explicit, ModelSpec):
            return explicit
        if isinstance(explicit, dict):
            if "path" not in explicit:
                raise InvalidInputError(f"models: expected a 'path' entry for {fam.name}, "
                                        f"got {explicit!r}")
            cfg = explicit.get("config")
            return ModelSpec(fam.name, Path(explicit["path"]).expanduser(),
                             Path(cfg).expanduser() if cfg else None, source="explicit")
        if isinstance(explicit, str | os.PathLike):
            return ModelSpec(fam.name, Path(explicit).expanduser(), source="--model")
        raise InvalidInputError(
            f"models: expected a path or a dict for {fam.name}, got {type(explicit).__name__}"
        )
    env = _env_entries()
    if fam.name in env:
        value, source = env[fam.name]
        return ModelSpec(fam.name, Path(value).expanduser(), source=source)
    spec = (store or ModelStore()).spec(fam.name)
    if spec is not None:
        return spec
    missing = ModelNotFoundError(
        f"no {fam.name} model configured ({fam.title}, used by {fam.used_by}): add one with "
        f"`motionwright models add {fam.name} PATH` (e.g. {fam.example}), set "
        f"MOTIONWRIGHT_MODEL_{fam.name.upper()}, or pass --model PATH"
    )
    missing.family = fam.name
    raise missing


def configured_models(store: ModelStore | None = None) -> dict[str, ModelSpec]:
    """Every family that has a model configured (environment or file), without checking files."""
    store = store or ModelStore()
    out: dict[str, ModelSpec] = {}
    for name in FAMILIES:
        try:
            out[name] = resolve_model(name, store=store)
        except ModelNotFoundError:
            continue
    return out


def guess_family(path: str | Path) -> str | None:
    """The family a model folder belongs to, judged from its configs (None if unknown)."""
    return describe_path(Path(path).expanduser())[0]
