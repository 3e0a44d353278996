import pytest
import torch

from dlnotes.bench.visibility import cuda_device_count_in_subprocess


def test_child_sees_variable():
    seen = cuda_device_count_in_subprocess("0", set_after_cuda_init=False)
    assert seen["cuda_visible_devices"] == "0"
    assert seen["device_count"] == min(1, torch.cuda.device_count())
    assert seen["last_device_usable"] is (True if seen["device_count"] else None)


@pytest.mark.skipif(torch.cuda.device_count() < 1, reason="needs a CUDA device")
def test_set_after_init_has_no_effect():
    hidden_before = cuda_device_count_in_subprocess("", set_after_cuda_init=False)
    hidden_after = cuda_device_count_in_subprocess("", set_after_cuda_init=True)
    assert hidden_before["device_count"] == 0
    assert hidden_after["device_count"] == torch.cuda.device_count()
    assert hidden_after["last_device_usable"] is True


def test_rejects_non_string():
    with pytest.raises(ValueError, match="cuda_visible_devices"):
        cuda_device_count_in_subprocess(0, set_after_cuda_init=False)
