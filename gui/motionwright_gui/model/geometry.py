"""Mapping between viewer widget coordinates and frame pixel coordinates (no Qt).

Frame pixel ``(i, j)`` covers ``[i - 0.5, i + 0.5] × [j - 0.5, j + 0.5]`` in frame coordinates
(the centre of the top-left pixel is (0, 0)). On screen the frame's top-left corner sits at
``origin`` and each pixel is ``scale`` widget units wide, so pixel ``i``'s centre is at
``origin_x + (i + 0.5) * scale``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ViewTransform:
    """Where a ``frame_size`` (w, h) frame is drawn in a ``widget_size`` (w, h) viewer at
    ``zoom`` (1 = fit) with ``pan`` (widget units) added to the centred position."""

    frame_size: tuple[int, int]
    widget_size: tuple[float, float]
    zoom: float = 1.0
    pan: tuple[float, float] = (0.0, 0.0)

    @property
    def fit_scale(self) -> float:
        """Scale at which the whole frame fits the widget."""
        fw, fh = self.frame_size
        ww, wh = self.widget_size
        if fw <= 0 or fh <= 0 or ww <= 0 or wh <= 0:
            return 1.0
        return min(ww / fw, wh / fh)

    @property
    def scale(self) -> float:
        """Widget units per frame pixel."""
        return self.fit_scale * self.zoom

    @property
    def origin(self) -> tuple[float, float]:
        """Widget position of the frame's top-left corner (outer edge of pixel (0, 0))."""
        fw, fh = self.frame_size
        ww, wh = self.widget_size
        s = self.scale
        return ((ww - fw * s) / 2 + self.pan[0], (wh - fh * s) / 2 + self.pan[1])

    def to_widget(self, x: float, y: float) -> tuple[float, float]:
        """Widget position of frame coordinates (x, y)."""
        ox, oy = self.origin
        s = self.scale
        return (ox + (x + 0.5) * s, oy + (y + 0.5) * s)

    def to_frame(self, wx: float, wy: float) -> tuple[float, float]:
        """Frame coordinates under widget position (wx, wy)."""
        ox, oy = self.origin
        s = self.scale
        return ((wx - ox) / s - 0.5, (wy - oy) / s - 0.5)

    def zoomed_at(self, factor: float, wx: float, wy: float) -> ViewTransform:
        """The transform after zooming by ``factor`` keeping the frame point under
        (wx, wy) in place."""
        fx, fy = self.to_frame(wx, wy)
        zoom = min(max(self.zoom * factor, 0.05), 64.0)
        moved = ViewTransform(self.frame_size, self.widget_size, zoom, self.pan)
        nx, ny = moved.to_widget(fx, fy)
        return ViewTransform(self.frame_size, self.widget_size, zoom,
                             (self.pan[0] + wx - nx, self.pan[1] + wy - ny))
