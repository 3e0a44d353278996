"""Execute the chapter notebooks and keep the book's execution cache honest.

Two command-line tools, used by the Makefile:

``python -m dlnotes.notebooks execute NOTEBOOK...``
    Re-executes each notebook in place, in a fresh kernel started in the
    notebook's folder, so that the committed outputs are what a clean run
    prints. Machine paths are replaced in the stored outputs, and consecutive
    printed chunks are merged, so an unchanged notebook stays unchanged.

``python -m dlnotes.notebooks check-cache --cache DIR --doctrees DIR``
    Jupyter Book's execution cache keys only on the code of the cells, so a
    change under ``src/`` or ``results/`` would leave stale outputs in the
    book. This hashes those inputs and, when they changed, empties the cache
    and Sphinx's doctrees, so the next build re-reads and re-executes every
    chapter.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import site
import sys
import sysconfig
import time
from pathlib import Path

# Files whose change must re-execute the chapters in the book build.
CACHE_INPUTS = ("src", "results", "requirements.txt", "pyproject.toml")
HASH_FILE_NAME = "dlnotes-inputs.sha256"
CELL_TIMEOUT_S = 600


def hash_inputs(root: Path, inputs: tuple[str, ...] = CACHE_INPUTS) -> str:
    """Return a SHA-256 hex digest over the names and bytes of every file under ``inputs``.

    Paths in ``inputs`` are relative to ``root``; a missing one counts as empty.
    Byte-compiled files and ``__pycache__`` folders are skipped.
    """
    if not root.is_dir():
        raise ValueError(f"root={str(root)!r} is not a folder; pass the repository root")

    digest = hashlib.sha256()
    for name in inputs:
        top = root / name
        files = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file())
        for path in files:
            if "__pycache__" in path.parts or path.suffix == ".pyc":
                continue
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(b"\0")
            digest.update(path.read_bytes())
            digest.update(b"\0")
    return digest.hexdigest()


def check_cache(cache_dir: Path, root: Path, doctrees_dir: Path | None = None) -> bool:
    """Empty ``cache_dir`` and ``doctrees_dir`` when the hashed inputs changed since the last build.

    Emptying the execution cache alone is not enough: Sphinx re-reads only the
    documents whose source changed, so without their doctrees it would keep
    the old outputs of unchanged notebooks. Returns True when the folders were
    emptied. The hash is stored beside the cache folder, so emptying keeps it.
    """
    current = hash_inputs(root)
    hash_file = cache_dir.parent / HASH_FILE_NAME
    previous = hash_file.read_text().strip() if hash_file.is_file() else None
    if previous == current:
        return False

    for folder in (cache_dir, doctrees_dir):
        if folder is not None and folder.exists():
            shutil.rmtree(folder)
    hash_file.parent.mkdir(parents=True, exist_ok=True)
    hash_file.write_text(current + "\n")
    return True


def _path_replacements(root: Path) -> list[tuple[str, str]]:
    """List (machine path, placeholder) pairs, longest path first."""
    pairs = [(str(root.resolve()), "<repo>"), (sysconfig.get_paths()["purelib"], "<site-packages>")]
    pairs += [(p, "<site-packages>") for p in site.getsitepackages()]
    pairs.append((str(Path(sys.prefix).resolve()), "<python>"))
    pairs.append((str(Path.home()), "<home>"))
    unique = {path: placeholder for path, placeholder in pairs if path and path != "/"}
    return sorted(unique.items(), key=lambda item: len(item[0]), reverse=True)


def sanitize_text(text: str, replacements: list[tuple[str, str]]) -> str:
    """Replace each machine path in ``text`` with its placeholder."""
    for path, placeholder in replacements:
        text = text.replace(path, placeholder)
    return text


def merge_streams(outputs: list) -> list:
    """Join consecutive stream outputs of the same name (stdout or stderr) into one.

    A kernel flushes printed text in chunks whose boundaries depend on timing, so
    the same prints can be stored as one output or several. Merging keeps the
    committed notebook the same from run to run.
    """
    merged: list = []
    for output in outputs:
        previous = merged[-1] if merged else None
        if (
            previous is not None
            and output.get("output_type") == "stream"
            and previous.get("output_type") == "stream"
            and output.get("name") == previous.get("name")
        ):
            previous["text"] = previous["text"] + output["text"]
            continue
        merged.append(output)
    return merged


def _sanitize_outputs(notebook, replacements: list[tuple[str, str]]) -> None:
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"] = sanitize_text(output["text"], replacements)
            if "traceback" in output:
                output["traceback"] = [sanitize_text(line, replacements) for line in output["traceback"]]
            if "evalue" in output:
                output["evalue"] = sanitize_text(output["evalue"], replacements)
            for key, value in output.get("data", {}).items():
                if key.startswith("text/") and isinstance(value, str):
                    output["data"][key] = sanitize_text(value, replacements)


def execute_notebook(path: Path, root: Path, timeout_s: int = CELL_TIMEOUT_S) -> float:
    """Execute the notebook at ``path`` in place in a fresh kernel; return the wall time in seconds.

    Cells tagged ``raises-exception`` may raise; any other error stops the run
    with a ``RuntimeError`` naming the notebook and the cell.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    if path.suffix != ".ipynb" or not path.is_file():
        raise ValueError(f"notebook={str(path)!r} is not an .ipynb file; pass a path such as chapters/01_tensor_layout.ipynb")

    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=timeout_s,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent.resolve())}},
        record_timing=False,
    )
    started = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as error:
        code_cells = [c for c in notebook.cells if c.cell_type == "code"]
        failed = next((i for i, c in enumerate(code_cells, 1) if any(o.get("output_type") == "error" for o in c.outputs)), None)
        raise RuntimeError(f"{path}: code cell {failed} failed:\n{error}") from None
    elapsed = time.perf_counter() - started

    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = merge_streams(cell.outputs)
    _sanitize_outputs(notebook, _path_replacements(root))
    nbformat.write(notebook, path)
    return elapsed


def main(argv: list[str] | None = None) -> int:
    """Run the ``execute`` or ``check-cache`` command; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m dlnotes.notebooks", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    execute = commands.add_parser("execute", help="re-execute notebooks in place, each in a fresh kernel")
    execute.add_argument("notebooks", nargs="+", type=Path, help="paths of .ipynb files")
    execute.add_argument("--timeout", type=int, default=CELL_TIMEOUT_S, help="per-cell timeout in seconds")
    cache = commands.add_parser("check-cache", help="empty the book's execution cache and doctrees when src/ or results/ changed")
    cache.add_argument("--cache", type=Path, required=True, help="Jupyter Book's cache folder, such as _build/.jupyter_cache")
    cache.add_argument("--doctrees", type=Path, default=None, help="Sphinx's doctree folder, such as _build/.doctrees")
    args = parser.parse_args(argv)
    root = Path.cwd()

    if args.command == "check-cache":
        inputs = ", ".join(CACHE_INPUTS)
        first_build = not (args.cache.parent / HASH_FILE_NAME).is_file()
        if not check_cache(args.cache, root, args.doctrees):
            print(f"==> {inputs} unchanged since the last build: reusing the execution cache")
        elif first_build:
            print("==> No earlier build: the book build executes every chapter")
        else:
            emptied = args.cache if args.doctrees is None else f"{args.cache} and {args.doctrees}"
            print(f"==> A file in {inputs} changed since the last build: emptied {emptied}")
        return 0

    for path in args.notebooks:
        print(f"==> Executing {path}", flush=True)
        try:
            elapsed = execute_notebook(path, root, timeout_s=args.timeout)
        except (RuntimeError, ValueError) as error:
            print(f"FAILED {error}", file=sys.stderr)
            return 1
        print(f"    done in {elapsed:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
