"""Show, in fresh subprocesses, that CUDA_VISIBLE_DEVICES only counts when set before CUDA initialises."""

from __future__ import annotations

import json
import os
import subprocess
import sys

# The child optionally initialises CUDA, then sets the variable, then reports what torch sees.
_CHILD = """
import json, os, sys
import torch
value, init_first = sys.argv[1], sys.argv[2] == "1"
if init_first:
    torch.cuda.device_count()
    if torch.cuda.is_available():
        torch.cuda.init()
os.environ["CUDA_VISIBLE_DEVICES"] = value
print(json.dumps({"cuda_visible_devices": os.environ["CUDA_VISIBLE_DEVICES"], "device_count": torch.cuda.device_count()}))
"""


def cuda_device_count_in_subprocess(cuda_visible_devices: str, set_after_cuda_init: bool) -> dict[str, object]:
    """Run a fresh Python that sets CUDA_VISIBLE_DEVICES and return {"cuda_visible_devices", "device_count"}.

    With ``set_after_cuda_init`` the child queries CUDA before it sets the
    variable, so the new value has no effect and every GPU stays visible.
    Without it, the variable is set before the first CUDA call and limits
    ``torch.cuda.device_count()``. On a machine without CUDA both counts are 0.
    """
    if not isinstance(cuda_visible_devices, str):
        raise ValueError(f"cuda_visible_devices={cuda_visible_devices!r} is invalid; expected a string such as '0' or '0,1'")

    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    completed = subprocess.run(
        [sys.executable, "-c", _CHILD, cuda_visible_devices, "1" if set_after_cuda_init else "0"],
        capture_output=True, text=True, env=env, timeout=120, check=True,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])
