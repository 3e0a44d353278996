"""Benchmark result files: the JSON schema the command line writes and the chapter reads back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dlnotes.bench.suites import SUITES

SCHEMA_VERSION = 1
TOP_LEVEL_KEYS = ("schema_version", "created_utc", "command", "environment", "settings", "measurements")
# Keys every measurement of a suite has, whether it ran ("ok") or was "skipped".
MEASUREMENT_KEYS = {
    "matmul": ("dtype", "n"),
    "bandwidth": ("op", "dtype", "numel"),
    "layers": ("kind", "name", "pass", "batch", "seq_len", "dtype"),
    "allreduce": ("backend", "world_size", "size_bytes"),
}
# Keys a measurement with status "ok" has on top of those.
OK_KEYS = {
    "matmul": ("seconds", "flops", "tflops"),
    "bandwidth": ("seconds", "bytes", "gbs", "flops", "tflops"),
    "layers": ("seconds", "flops", "tflops"),
    "allreduce": ("seconds", "algbw_gbs", "busbw_gbs"),
}


def validate_result(document: Any, source: str = "result") -> dict[str, Any]:
    """Check a parsed result file against the schema and return it; raise ValueError naming the first problem."""
    if not isinstance(document, dict):
        raise ValueError(f"{source}: top level is a {type(document).__name__}; expected a JSON object")
    missing = [key for key in TOP_LEVEL_KEYS if key not in document]
    if missing:
        raise ValueError(f"{source}: missing top-level keys {missing}; expected all of {TOP_LEVEL_KEYS}")
    if document["schema_version"] != SCHEMA_VERSION:
        raise ValueError(f"{source}: schema_version={document['schema_version']!r}; expected {SCHEMA_VERSION}")
    for key in ("device_type", "device_name", "torch"):
        if key not in document["environment"]:
            raise ValueError(f"{source}: environment is missing {key!r}")

    for index, record in enumerate(document["measurements"]):
        where = f"{source}: measurement {index}"
        suite = record.get("suite")
        if suite not in SUITES:
            raise ValueError(f"{where} has suite={suite!r}; expected one of {SUITES}")
        status = record.get("status")
        if status not in ("ok", "skipped"):
            raise ValueError(f"{where} has status={status!r}; expected 'ok' or 'skipped'")
        required = MEASUREMENT_KEYS[suite] + (OK_KEYS[suite] if status == "ok" else ("reason",))
        absent = [key for key in required if key not in record]
        if absent:
            raise ValueError(f"{where} ({suite}, {status}) is missing keys {absent}")
        if status == "ok" and not record["seconds"] > 0:
            raise ValueError(f"{where} has seconds={record['seconds']!r}; expected a positive time")
    return document


def load_result(path: str | Path) -> dict[str, Any]:
    """Read and validate one result file."""
    path = Path(path)
    with path.open() as file:
        return validate_result(json.load(file), source=str(path))


def load_results(directory: str | Path) -> dict[str, dict[str, Any]]:
    """Read every ``*.json`` in ``directory``, sorted by name, into {file stem: result}."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ValueError(f"directory={str(directory)!r} is not a folder; expected the folder of result files, such as results/bench")
    return {path.stem: load_result(path) for path in sorted(directory.glob("*.json"))}


def ok_measurements(result: dict[str, Any], suite: str, **match: Any) -> list[dict[str, Any]]:
    """Return the measurements of ``suite`` with status "ok" whose fields equal every ``match`` value."""
    if suite not in SUITES:
        raise ValueError(f"suite={suite!r} is unknown; expected one of {SUITES}")
    return [
        record for record in result["measurements"]
        if record["suite"] == suite and record["status"] == "ok" and all(record.get(k) == v for k, v in match.items())
    ]


# The book's GPU targets: bf16 matmul at n = 8192 within 90% of the best achievable rate,
# and a device-to-device copy within 85% of the datasheet bandwidth.
MATMUL_TARGET_FRACTION = 0.90
COPY_TARGET_FRACTION = 0.85


def gpu_target_checks(result: dict[str, Any]) -> list[tuple[str, float, float, bool]]:
    """Return (check, measured, target, passed) for a CUDA result whose card is in the peak tables.

    The matmul check needs the card in ``ACHIEVABLE_BF16_TFLOPS``, the copy
    check only its datasheet bandwidth. Returns an empty list for a CPU result
    or an unknown card.
    """
    from dlnotes.bench.specs import ACHIEVABLE_BF16_TFLOPS, spec_for_device_name

    environment = result["environment"]
    spec = spec_for_device_name(environment["device_name"]) if environment["device_type"] == "cuda" else None
    if spec is None:
        return []

    checks = []
    matmul = ok_measurements(result, "matmul", dtype="bf16", n=8192)
    if matmul and spec.name in ACHIEVABLE_BF16_TFLOPS:
        target = MATMUL_TARGET_FRACTION * ACHIEVABLE_BF16_TFLOPS[spec.name]
        checks.append(("bf16 matmul n=8192 (TFLOPS)", matmul[0]["tflops"], target, matmul[0]["tflops"] >= target))
    copies = ok_measurements(result, "bandwidth", op="copy")
    if copies:
        best = max(record["gbs"] for record in copies)
        target = COPY_TARGET_FRACTION * spec.bandwidth_gbs
        checks.append(("device-to-device copy (GB/s)", best, target, best >= target))
    return checks
