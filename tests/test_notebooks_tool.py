import json
from pathlib import Path

import nbformat
import pytest

from dlnotes.notebooks import check_cache, execute_notebook, hash_inputs, main, merge_streams, sanitize_text


def _write_notebook(path: Path, sources: list[str], tags: dict[int, list[str]] | None = None) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for i, source in enumerate(sources):
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["tags"] = (tags or {}).get(i, [])
        notebook.cells.append(cell)
    nbformat.write(notebook, path)


def test_hash_changes_with_source(tmp_path):
    (tmp_path / "src").mkdir()
    module = tmp_path / "src" / "m.py"
    module.write_text("x = 1\n")
    before = hash_inputs(tmp_path)
    module.write_text("x = 2\n")
    assert hash_inputs(tmp_path) != before


def test_hash_ignores_bytecode(tmp_path):
    (tmp_path / "src" / "__pycache__").mkdir(parents=True)
    before = hash_inputs(tmp_path)
    (tmp_path / "src" / "__pycache__" / "m.cpython-311.pyc").write_bytes(b"\0\1")
    assert hash_inputs(tmp_path) == before


def test_check_cache_empties_only_on_change(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "m.py").write_text("x = 1\n")
    cache = tmp_path / "_build" / ".jupyter_cache"
    assert check_cache(cache, tmp_path)  # first build: no stored hash
    cache.mkdir(parents=True)
    (cache / "entry").write_text("cached")
    assert not check_cache(cache, tmp_path)
    assert (cache / "entry").exists()

    (tmp_path / "src" / "m.py").write_text("x = 2\n")
    assert check_cache(cache, tmp_path)
    assert not cache.exists()


def test_check_cache_empties_doctrees_too(tmp_path):
    (tmp_path / "src").mkdir()
    module = tmp_path / "src" / "m.py"
    module.write_text("x = 1\n")
    cache, doctrees = tmp_path / "_build" / ".jupyter_cache", tmp_path / "_build" / ".doctrees"
    check_cache(cache, tmp_path, doctrees)
    doctrees.mkdir(parents=True)
    (doctrees / "chapter.doctree").write_bytes(b"old")

    assert not check_cache(cache, tmp_path, doctrees)
    assert doctrees.exists()

    module.write_text("x = 2\n")
    assert check_cache(cache, tmp_path, doctrees)
    assert not doctrees.exists()


def test_sanitize_text_replaces_longest_path_first():
    pairs = [("/a/b/c", "<inner>"), ("/a/b", "<outer>")]
    assert sanitize_text("at /a/b/c/x.py and /a/b/y.py", pairs) == "at <inner>/x.py and <outer>/y.py"


def test_execute_numbers_cells_in_order(tmp_path):
    path = tmp_path / "ok.ipynb"
    _write_notebook(path, ["x = 40", "print(x + 2)", "x"])
    execute_notebook(path, tmp_path)
    cells = nbformat.read(path, as_version=4).cells
    assert [c.execution_count for c in cells] == [1, 2, 3]
    assert cells[1].outputs[0]["text"] == "42\n"


def test_execute_runs_in_notebook_folder(tmp_path):
    path = tmp_path / "cwd.ipynb"
    _write_notebook(path, ["import os; print(os.path.basename(os.getcwd()))"])
    execute_notebook(path, tmp_path.parent)
    output = nbformat.read(path, as_version=4).cells[0].outputs[0]["text"]
    assert output.strip() == tmp_path.name


def test_execute_allows_tagged_errors(tmp_path):
    path = tmp_path / "tagged.ipynb"
    _write_notebook(path, ["raise KeyError('expected')", "print('after')"], tags={0: ["raises-exception"]})
    execute_notebook(path, tmp_path)
    cells = nbformat.read(path, as_version=4).cells
    assert cells[0].outputs[0]["ename"] == "KeyError"
    assert cells[1].outputs[0]["text"] == "after\n"


def test_execute_names_failing_cell(tmp_path):
    path = tmp_path / "broken.ipynb"
    _write_notebook(path, ["x = 1", "1 / 0"])
    with pytest.raises(RuntimeError, match=r"broken.ipynb: code cell 2 failed"):
        execute_notebook(path, tmp_path)


def test_execute_sanitizes_paths(tmp_path):
    path = tmp_path / "paths.ipynb"
    _write_notebook(path, ["import os; print(os.getcwd())"])
    execute_notebook(path, tmp_path)
    text = json.dumps(nbformat.read(path, as_version=4).cells[0].outputs)
    assert str(tmp_path) not in text
    assert "<repo>" in text


def test_execute_rejects_non_notebooks(tmp_path):
    with pytest.raises(ValueError, match="not an .ipynb file"):
        execute_notebook(tmp_path / "missing.ipynb", tmp_path)


def test_main_returns_1_on_failure(tmp_path, capsys):
    path = tmp_path / "broken.ipynb"
    _write_notebook(path, ["1 / 0"])
    assert main(["execute", str(path)]) == 1
    assert "FAILED" in capsys.readouterr().err


def test_merge_streams_joins_same_stream():
    outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="a\n"),
        nbformat.v4.new_output("stream", name="stdout", text="b\n"),
        nbformat.v4.new_output("stream", name="stderr", text="warn\n"),
        nbformat.v4.new_output("execute_result", data={"text/plain": "1"}),
        nbformat.v4.new_output("stream", name="stdout", text="c\n"),
    ]
    merged = merge_streams(outputs)
    assert [o["output_type"] for o in merged] == ["stream", "stream", "execute_result", "stream"]
    assert merged[0]["text"] == "a\nb\n"
    assert merged[1]["text"] == "warn\n"
    assert merged[3]["text"] == "c\n"


def test_execute_stores_one_stream_per_print_run(tmp_path):
    path = tmp_path / "streams.ipynb"
    _write_notebook(path, ["import sys, time\nprint('x', flush=True)\ntime.sleep(0.2)\nprint('y', flush=True)"])
    execute_notebook(path, tmp_path)
    outputs = nbformat.read(path, as_version=4).cells[0].outputs
    assert len(outputs) == 1
    assert outputs[0]["text"] == "x\ny\n"
