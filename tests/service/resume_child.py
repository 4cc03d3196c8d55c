"""A render service process for the kill -9 test: slow chunks, each start logged.

Usage: ``python resume_child.py DATA_DIR LOG DELAY [REQUEST.json ...]``: starts a Service on
DATA_DIR with one worker, submits each request, prints the job ids, then serves until killed.
"""

import json
import os
import sys
import time

from motionwright.service import Service
from motionwright.service.chunks import render_chunk
from motionwright.service.executor import LocalExecutor


def main() -> None:
    data_dir, log_path, delay = sys.argv[1], sys.argv[2], float(sys.argv[3])

    def render(request, start, stop, **kw):
        with open(log_path, "a") as log:
            log.write(f"{request.label} {start}\n")
        time.sleep(delay)
        return render_chunk(request, start, stop, **kw)

    svc = Service(data_dir, workers=1, executor=LocalExecutor(1, render=render)).start()
    for name in sys.argv[4:]:
        with open(name) as fh:
            print(svc.submit(json.load(fh))["id"], flush=True)
    print("ready", flush=True)
    while True:
        time.sleep(1)
        os.getpid()


if __name__ == "__main__":
    main()
