"""Motionwright - Render and add take: renders the Motionwright edits of the timeline clip under
the playhead through the render service and adds the result as a take on the same item
(Workspace > Scripts > Motionwright ...). Set MOTIONWRIGHT_HANDLES for extra frames.
Needs motionwright installed for the Python that Resolve runs scripts with."""

try:
    from motionwright_bridge.resolve import run_script
except ImportError:
    print("Motionwright is not installed for this Python: pip install motionwright")
else:
    run_script("render", globals().get("resolve"))
