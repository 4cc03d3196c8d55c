"""A stand-in for DaVinci Resolve's scripting module, for tests.

It follows the documented signatures of the calls Motionwright uses (``scriptapp("Resolve")``,
``Resolve.GetProjectManager``, ``ProjectManager.GetCurrentProject``, ``Project.
GetCurrentTimeline/GetMediaPool``, ``Timeline.GetCurrentVideoItem``, ``TimelineItem.GetName/
GetStart/GetEnd/GetDuration/GetLeftOffset/GetRightOffset/GetMediaPoolItem/AddTake/
GetTakesCount/SelectTakeByIndex/FinalizeTake``, ``MediaPoolItem.GetClipProperty``,
``MediaPool.ImportMedia``), records every call in ``CALLS`` and raises ``TypeError`` /
``ValueError`` on arguments Resolve would refuse (wrong types, 1-based take indices out of
range, files that do not exist). Like Resolve, failures of the API itself are reported by
return values (None, False, empty lists), not exceptions.

``STATE`` configures the scene: ``reachable`` (False: ``scriptapp`` returns None, as when
external scripting is off), ``media`` (the clip's file), ``left``/``right``/``start``/
``duration`` (frames).
"""

from __future__ import annotations

import os

CALLS: list[tuple] = []
STATE: dict = {"reachable": True, "media": None, "left": 10, "right": 20, "start": 86400,
               "duration": 30, "fps": 24.0, "item": None, "pool": None}


def _record(*call: object) -> None:
    CALLS.append(call)


def _int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name}: Resolve expects an int, got {type(value).__name__}")
    return value


class MediaPoolItem:
    def __init__(self, path: str):
        self._path = path

    def GetClipProperty(self, name: str | None = None):
        _record("MediaPoolItem.GetClipProperty", name)
        props = {"File Path": self._path, "FPS": STATE["fps"],
                 "Clip Name": os.path.basename(self._path)}
        if name is None:
            return props
        if not isinstance(name, str):
            raise TypeError("GetClipProperty: property name must be a string")
        return props.get(name, "")

    def GetName(self):
        return os.path.basename(self._path)


class TimelineItem:
    def __init__(self, media: MediaPoolItem):
        self._media = media
        self.takes: list[tuple[MediaPoolItem, int, int]] = [(media, STATE["left"],
                                                             STATE["left"] + STATE["duration"] - 1)]
        self.selected = 1

    def GetName(self):
        return "shot_010"

    def GetStart(self):
        return STATE["start"]

    def GetEnd(self):
        return STATE["start"] + STATE["duration"]

    def GetDuration(self):
        return STATE["duration"]

    def GetLeftOffset(self):
        return STATE["left"]

    def GetRightOffset(self):
        return STATE["right"]

    def GetMediaPoolItem(self):
        return self._media

    def AddTake(self, media_pool_item, start_frame=None, end_frame=None):
        _record("TimelineItem.AddTake", media_pool_item, start_frame, end_frame)
        if not isinstance(media_pool_item, MediaPoolItem):
            raise TypeError("AddTake: the first argument must be a MediaPoolItem")
        if (start_frame is None) != (end_frame is None):
            raise TypeError("AddTake: give both startFrame and endFrame or neither")
        if start_frame is not None:
            _int(start_frame, "startFrame")
            _int(end_frame, "endFrame")
            if not 0 <= start_frame <= end_frame:
                return False
            if end_frame - start_frame + 1 != STATE["duration"]:
                return False  # a take must fill the item: Resolve keeps the item's length
        self.takes.append((media_pool_item, start_frame, end_frame))
        return True

    def GetTakesCount(self):
        return len(self.takes)

    def SelectTakeByIndex(self, index):
        _record("TimelineItem.SelectTakeByIndex", index)
        _int(index, "idx")
        if not 1 <= index <= len(self.takes):
            return False
        self.selected = index
        return True

    def FinalizeTake(self):
        _record("TimelineItem.FinalizeTake")
        return True


class MediaPool:
    def __init__(self):
        self.imported: list[str] = []

    def ImportMedia(self, items):
        _record("MediaPool.ImportMedia", items)
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise TypeError("ImportMedia: expects a list of file paths")
        found = [MediaPoolItem(p) for p in items if os.path.isfile(p)]
        self.imported += [p for p in items if os.path.isfile(p)]
        return found


class Timeline:
    def GetCurrentVideoItem(self):
        _record("Timeline.GetCurrentVideoItem")
        return STATE["item"]

    def GetSetting(self, name=None):
        return {"timelineFrameRate": str(STATE["fps"])} if name is None else str(STATE["fps"])


class Project:
    def GetCurrentTimeline(self):
        return Timeline()

    def GetMediaPool(self):
        return STATE["pool"]


class ProjectManager:
    def GetCurrentProject(self):
        return Project()


class Resolve:
    EXPORT_OTIO = 31

    def GetProjectManager(self):
        return ProjectManager()


def scriptapp(name):
    _record("scriptapp", name)
    if name != "Resolve":
        raise ValueError("scriptapp: only 'Resolve' (or 'Fusion')")
    if not STATE["reachable"]:
        return None
    if STATE["item"] is None and STATE["media"]:
        STATE["item"] = TimelineItem(MediaPoolItem(STATE["media"]))
        STATE["pool"] = MediaPool()
    return Resolve()


def reset(media: str | None, **changes: object) -> None:
    """Start a new scene with the given media file and settings."""
    CALLS.clear()
    STATE.update({"reachable": True, "media": media, "left": 10, "right": 20, "start": 86400,
                  "duration": 30, "fps": 24.0, "item": None, "pool": None})
    STATE.update(changes)
