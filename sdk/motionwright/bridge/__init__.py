"""The client side of the render server, for the editor, the NLE scripts and pipelines.

``Client.find()`` locates the running server through ``server.json``;
``Client.ensure_running()`` starts one when none answers. :func:`request_for` builds a job
request from SDK objects. Only the standard library and numpy are needed (no aiohttp).
"""

from __future__ import annotations

from .client import Client
from .requests import request_for

__all__ = ["Client", "request_for"]
