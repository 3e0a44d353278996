"""Show, in fresh subprocesses, that CUDA_VISIBLE_DEVICES only counts when set before CUDA initialises."""

from __future__ import annotations

import json
import os
import subprocess
import sys

# The child optionally initialises CUDA, then sets the variable, then prints torch's device count.
_CHILD = """
import json, os, sys
import torch
value, init_first = sys.argv[1], sys.argv[2] == "1"
if init_first and torch.cuda.is_available():
    torch.cuda.init()
    # torch caches the count only once CUDA is initialised. Before that it re-reads the variable.
    torch.cuda.device_count()
os.environ["CUDA_VISIBLE_DEVICES"] = value
count = torch.cuda.device_count()
# Allocating on the last device proves the runtime still exposes it, beyond torch's cached count.
last_device_usable = torch.ones(1, device=f"cuda:{count - 1}").item() == 1.0 if count else None
print(json.dumps({"cuda_visible_devices": value, "device_count": count, "last_device_usable": last_device_usable}))
"""


def cuda_device_count_in_subprocess(cuda_visible_devices: str, set_after_cuda_init: bool) -> dict[str, object]:
    """Run a fresh Python that sets CUDA_VISIBLE_DEVICES and return the CUDA devices it then reports.

    The result has keys "cuda_visible_devices", "device_count" and
    "last_device_usable" (None when no device is visible).

    With ``set_after_cuda_init`` the child initialises CUDA before it sets the
    variable, so the new value has no effect and every GPU stays visible.
    Without it, the variable is set before the first CUDA call and limits
    ``torch.cuda.device_count()``. On a machine without CUDA both counts are 0.

    NOTE: so far this has run only on machines without CUDA.
    """
    if not isinstance(cuda_visible_devices, str):
        raise ValueError(f"cuda_visible_devices={cuda_visible_devices!r} is invalid; expected a string such as '0' or '0,1'")

    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    completed = subprocess.run(
        [sys.executable, "-c", _CHILD, cuda_visible_devices, "1" if set_after_cuda_init else "0"],
        capture_output=True, text=True, env=env, timeout=120, check=True,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])
