"""Shared test set-up: no test sees the user's model configuration."""

import os

import pytest


@pytest.fixture(autouse=True)
def isolated_model_config(tmp_path, monkeypatch):
    """An empty config folder and no model variables, unless a test sets its own."""
    monkeypatch.setenv("MOTIONWRIGHT_CONFIG_DIR", str(tmp_path / "cfg"))
    for var in list(os.environ):
        if var == "MOTIONWRIGHT_MODELS" or var.startswith("MOTIONWRIGHT_MODEL_"):
            monkeypatch.delenv(var)
