"""Motionwright's bundled resources: the sample shot and default configs."""
