"""The Motionwright desktop editor (PySide6), built only on the SDK's public API."""
