import pytest

from dlnotes.bench.allreduce import bus_bandwidth_gbs, free_port, run_allreduce


@pytest.mark.parametrize("n, factor", [(1, 0.0), (2, 1.0), (4, 1.5), (8, 1.75)])
def test_bus_bandwidth_factor(n, factor):
    assert bus_bandwidth_gbs(100.0, n) == pytest.approx(100.0 * factor)


def test_free_port_in_range():
    assert 1024 <= free_port() < 65536


def test_gloo_two_processes():
    results = run_allreduce("gloo", 2, [4096, 65536], iterations=2)
    assert [r.size_bytes for r in results] == [4096, 65536]
    for r in results:
        assert r.world_size == 2
        assert r.seconds > 0
        assert r.busbw_gbs == pytest.approx(r.algbw_gbs)  # 2(n-1)/n = 1 at n = 2
        assert r.algbw_gbs == pytest.approx(r.size_bytes / r.seconds / 1e9)


@pytest.mark.parametrize("kwargs, match", [
    (dict(backend="mpi", world_size=2, sizes_bytes=[4]), "backend"),
    (dict(backend="gloo", world_size=1, sizes_bytes=[4]), "world_size"),
    (dict(backend="gloo", world_size=2, sizes_bytes=[]), "sizes_bytes"),
    (dict(backend="gloo", world_size=2, sizes_bytes=[6]), "sizes_bytes"),
    (dict(backend="gloo", world_size=2, sizes_bytes=[4], iterations=0), "iterations"),
])
def test_run_allreduce_rejects(kwargs, match):
    with pytest.raises(ValueError, match=match):
        run_allreduce(**kwargs)


def test_nccl_without_gpus_rejected():
    import torch

    if torch.cuda.is_available() and torch.cuda.device_count() >= 2:
        pytest.skip("this machine can run NCCL")
    with pytest.raises(ValueError, match="nccl|GPUs"):
        run_allreduce("nccl", 2, [4096])


def test_bus_bandwidth_rejects():
    with pytest.raises(ValueError):
        bus_bandwidth_gbs(1.0, 0)
    with pytest.raises(ValueError):
        bus_bandwidth_gbs(-1.0, 2)
