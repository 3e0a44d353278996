import json

import pytest
import torch

from dlnotes.bench.cli import main
from dlnotes.bench.results import validate_result


def test_cli_writes_result(tmp_path, capsys):
    out = tmp_path / "run.json"
    assert main(["--suite", "matmul", "--device", "cpu", "--dtypes", "fp32", "--quick", "--out", str(out)]) == 0
    document = validate_result(json.loads(out.read_text()))
    assert [r["n"] for r in document["measurements"]] == [64, 128, 256, 512]
    assert document["settings"]["dtypes"] == ["fp32"]
    assert document["environment"]["torch"] == torch.__version__
    assert "wrote 4 measurements" in capsys.readouterr().out


def test_cli_refuses_overwrite(tmp_path, capsys):
    out = tmp_path / "run.json"
    out.write_text("{}")
    with pytest.raises(SystemExit):
        main(["--suite", "matmul", "--device", "cpu", "--out", str(out)])
    assert "--force" in capsys.readouterr().err
    assert out.read_text() == "{}"


@pytest.mark.parametrize("argv, message", [
    (["--suite", "matmul,disk"], "valid values: matmul,bandwidth,layers,allreduce"),
    (["--dtypes", "fp64"], "valid values: fp32,tf32,fp16,bf16"),
    (["--device", "tpu"], "argument --device: invalid device tpu; valid values: cuda,cpu"),
    (["--device", "mps"], "argument --device: invalid device mps; valid values: cuda,cpu"),
    (["--device", "cpu", "--dtypes", "tf32"], "invalid on --device cpu"),
])
def test_cli_rejects(tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        main(argv + ["--out", str(tmp_path / "x.json")])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cli_cuda_missing(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--device", "cuda", "--out", str(tmp_path / "x.json")])
    assert "sees no CUDA device" in capsys.readouterr().err


def test_cli_threads_recorded_and_restored(tmp_path):
    out = tmp_path / "run.json"
    before = torch.get_num_threads()
    main(["--suite", "matmul", "--device", "cpu", "--dtypes", "bf16", "--quick", "--threads", "1", "--out", str(out)])
    document = json.loads(out.read_text())
    assert document["environment"]["torch_threads"] == 1
    assert document["settings"]["threads"] == 1
    assert torch.get_num_threads() == before


def test_cli_rejects_negative_threads(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--threads", "-1", "--out", str(tmp_path / "x.json")])
    assert "--threads -1 is invalid" in capsys.readouterr().err
