import pytest
import torch

from dlnotes.device import choose_device, describe_devices, list_devices, seed_everything


def test_cpu_is_always_listed_last():
    devices = list_devices()
    assert devices[-1].type == "cpu"
    assert "logical cores" in devices[-1].name


def test_describe_devices_counts_cuda():
    text = describe_devices()
    assert f"CUDA devices visible: {torch.cuda.device_count()}" in text


def test_choose_device_explicit_cpu():
    assert choose_device("cpu") == torch.device("cpu")


def test_choose_device_reads_env(monkeypatch):
    monkeypatch.setenv("DLNOTES_DEVICE", "cpu")
    assert choose_device() == torch.device("cpu")


@pytest.mark.parametrize("name", ["tpu", "gpu", "cuda:x"])
def test_choose_device_rejects_unknown_names(name):
    with pytest.raises(ValueError, match=repr(name)):
        choose_device(name)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_choose_device_cuda_missing_message():
    with pytest.raises(ValueError, match="no CUDA device"):
        choose_device("cuda")


def test_seed_everything_repeats_draws():
    seed_everything(7)
    first = torch.rand(3)
    seed_everything(7)
    assert torch.equal(first, torch.rand(3))


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, "0", True])
def test_seed_everything_rejects_bad_seeds(seed):
    with pytest.raises(ValueError, match="seed="):
        seed_everything(seed)
