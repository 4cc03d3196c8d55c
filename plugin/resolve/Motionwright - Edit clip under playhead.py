"""Motionwright - Edit clip under playhead: opens the Motionwright editor on the media and
used range of the timeline clip under the playhead (Workspace > Scripts > Motionwright ...).
Needs motionwright installed for the Python that Resolve runs scripts with."""

try:
    from motionwright_bridge.resolve import run_script
except ImportError:
    print("Motionwright is not installed for this Python: pip install motionwright")
else:
    run_script("edit", globals().get("resolve"))
