"""Qt views of the editor model (PySide6)."""
