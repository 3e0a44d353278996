"""Command line: ``python -m dlnotes.bench --suite matmul,bandwidth --device cuda --out results/bench/NAME.json``."""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import sys
from pathlib import Path

import torch
from tqdm import tqdm

from dlnotes.bench.results import SCHEMA_VERSION, validate_result
from dlnotes.bench.suites import DEVICE_TYPES, SUITES, BenchConfig, plan_tasks, valid_dtypes
from dlnotes.bench.timing import DTYPES, environment


def _comma_list(valid: tuple[str, ...], option_kind: str):
    def parse(text: str) -> tuple[str, ...]:
        items = tuple(item.strip() for item in text.split(",") if item.strip())
        unknown = [item for item in items if item not in valid]
        if unknown or not items:
            raise argparse.ArgumentTypeError(f"invalid {option_kind} {','.join(unknown) or repr(text)}; valid values: {','.join(valid)}")
        return items
    return parse


def _one_of(valid: tuple[str, ...], option_kind: str):
    # Used instead of `choices`, whose message quotes values differently from Python 3.12.9 on
    # (CPython gh-130750), so that chapter 6's printed error does not depend on the Python version.
    def parse(text: str) -> str:
        if text not in valid:
            raise argparse.ArgumentTypeError(f"invalid {option_kind} {text}; valid values: {','.join(valid)}")
        return text
    return parse


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``python -m dlnotes.bench``."""
    parser = argparse.ArgumentParser(
        prog="python -m dlnotes.bench",
        description="Measure matmul TFLOPS, memory bandwidth, transformer blocks and all-reduce, and write them to a JSON file.",
    )
    parser.add_argument("--suite", type=_comma_list(SUITES, "suite"), default=SUITES,
                        help=f"comma-separated suites to run (default: all): {','.join(SUITES)}")
    parser.add_argument("--device", type=_one_of(DEVICE_TYPES, "device"), default="cuda" if torch.cuda.is_available() else "cpu",
                        help=f"device to measure (default: cuda when available, else cpu): {','.join(DEVICE_TYPES)}; "
                             "mps is not offered, because no suite has been run on an Apple GPU "
                             "and the all-reduce suite uses NCCL (CUDA tensors) or gloo (CPU tensors)")
    parser.add_argument("--dtypes", type=_comma_list(tuple(DTYPES), "dtype"), default=(),
                        help=f"comma-separated matmul dtypes (default: all the device supports; tf32 is CUDA only): {','.join(DTYPES)}")
    parser.add_argument("--quick", action="store_true", help="smaller sizes and 0.05 s per measurement instead of 0.2 s")
    parser.add_argument("--compile", action="store_true", help="also time a torch.compile'd dense+GELU (compiling took 13 s on one shared CPU core)")
    parser.add_argument("--threads", type=int, default=0,
                        help="CPU threads torch may use (default 0: torch's default, one per core); "
                             "on a machine shared with other jobs, 1 gives steadier numbers")
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write, such as results/bench/h200.json")
    parser.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the suites with a progress bar and write the result file; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)

    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error(f"--device cuda requested, but torch {torch.__version__} sees no CUDA device; run with --device cpu, "
                     "or install a CUDA build of torch on a machine with an NVIDIA GPU")
    invalid = [d for d in args.dtypes if d not in valid_dtypes(args.device)]
    if invalid:
        parser.error(f"--dtypes {','.join(invalid)} is invalid on --device {args.device}; valid values: {','.join(valid_dtypes(args.device))}")
    if args.threads < 0:
        parser.error(f"--threads {args.threads} is invalid; expected 0 (torch's default) or a positive count")
    if args.out.exists() and not args.force:
        parser.error(f"--out {args.out} already exists; pass --force to overwrite it, or choose another file name")

    config = BenchConfig(device=args.device, suites=args.suite, dtypes=args.dtypes, quick=args.quick,
                         compile_parts=args.compile, threads=args.threads)
    default_threads = torch.get_num_threads()
    if config.threads:
        torch.set_num_threads(config.threads)
    try:
        measurements = []
        for task in tqdm(plan_tasks(config), desc="benchmarks", unit="task", file=sys.stderr):
            tqdm.write(task.label, file=sys.stderr)
            measurements.extend(task.run())
        environment_info = environment(torch.device(args.device))
    finally:
        torch.set_num_threads(default_threads)

    document = {
        "schema_version": SCHEMA_VERSION,
        "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": "python -m dlnotes.bench " + " ".join(sys.argv[1:] if argv is None else argv),
        "environment": environment_info,
        "settings": dataclasses.asdict(config),
        "measurements": measurements,
    }
    validate_result(document, source=str(args.out))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=1) + "\n")
    skipped = sum(record["status"] == "skipped" for record in measurements)
    print(f"wrote {len(measurements)} measurements ({skipped} skipped) to {args.out}")
    return 0
