"""Q-networks, the TD target and loss, and the epsilon schedule, with the classic pitfalls."""

import pytest
import torch

from dlnotes.rl.agent import DQNAgent
from dlnotes.rl.networks import DuelingQNetwork, QNetwork
from dlnotes.rl.targets import linear_epsilon, td_loss, td_target


def make_agent(variant: str) -> DQNAgent:
    return DQNAgent(obs_dim=4, n_actions=2, variant=variant, hidden=(16, 16), learning_rate=1e-2, buffer_size=100,
                    batch_size=8, gamma=0.9, max_grad_norm=10.0, per_alpha=0.6, per_beta_start=0.4, per_beta_steps=10,
                    per_eps=1e-6, seed=0)


def test_qnetwork_shapes():
    q = QNetwork(4, 3, hidden=(8,))(torch.randn(5, 4))
    assert q.shape == (5, 3)
    with pytest.raises(ValueError, match="hidden"):
        QNetwork(4, 3, hidden=())


def test_dueling_centred_advantage():
    net = DuelingQNetwork(4, 3, hidden=(8,))
    obs = torch.randn(6, 4)
    value, advantage = net.value_and_advantage(obs)
    q = net(obs)
    torch.testing.assert_close(q.mean(dim=1, keepdim=True), value)
    torch.testing.assert_close(q - value, advantage - advantage.mean(dim=1, keepdim=True))


def test_dueling_mean_per_sample():
    """Pitfall: a mean over the batch makes one sample's Q depend on the other samples."""
    net = DuelingQNetwork(4, 3, hidden=(8,))
    obs = torch.randn(6, 4)
    torch.testing.assert_close(net(obs)[:1], net(obs[:1]))
    torch.testing.assert_close(net(obs)[2:3], net(obs[2:3]))


def test_td_target_terminal_and_truncated():
    """Pitfall: a time-limit truncation is not terminal, so its target still bootstraps."""
    net = QNetwork(4, 2, hidden=(8,))
    next_obs = torch.randn(2, 4)
    rewards = torch.tensor([1.0, 1.0])
    terminated = torch.tensor([1.0, 0.0])  # sample 1 was truncated, not terminated
    y = td_target(rewards, next_obs, terminated, 0.9, net, net, double=False)
    assert y[0].item() == 1.0
    with torch.no_grad():
        expected = 1.0 + 0.9 * net(next_obs[1:]).max()
    assert y[1].item() == pytest.approx(expected.item())


def test_td_target_double_picks_online():
    online = QNetwork(2, 2, hidden=(4,))
    target = QNetwork(2, 2, hidden=(4,))
    with torch.no_grad():
        for net, bias in ((online, [0.0, 5.0]), (target, [3.0, 1.0])):
            for p in net.parameters():
                p.zero_()
            net.head.bias.copy_(torch.tensor(bias))
    args = (torch.zeros(1), torch.zeros(1, 2), torch.zeros(1), 1.0, online, target)
    assert td_target(*args, double=False).item() == 3.0  # max of the target network
    assert td_target(*args, double=True).item() == 1.0  # online picks action 1, target values it


def test_td_target_detached():
    """Pitfall: gradients through the target turn the semi-gradient into a residual gradient."""
    net = QNetwork(4, 2, hidden=(8,))
    obs, next_obs = torch.randn(8, 4), torch.randn(8, 4)
    actions = torch.randint(0, 2, (8,))
    y = td_target(torch.ones(8), next_obs, torch.zeros(8), 0.99, net, net, double=False)
    assert not y.requires_grad

    q_taken = net(obs).gather(1, actions[:, None]).squeeze(1)
    loss, abs_errors = td_loss(q_taken, y, torch.ones(8))
    loss.backward()
    grad = net.head.weight.grad.clone()

    net.zero_grad()
    attached_y = 1.0 + 0.99 * net(next_obs).max(dim=1).values
    q_taken = net(obs).gather(1, actions[:, None]).squeeze(1)
    torch.nn.functional.smooth_l1_loss(q_taken, attached_y).backward()
    assert not torch.allclose(grad, net.head.weight.grad)
    torch.testing.assert_close(abs_errors, (y - q_taken).abs().detach())


def test_td_loss_rejects_attached_targets():
    q = torch.zeros(3, requires_grad=True)
    with pytest.raises(ValueError, match="targets require grad"):
        td_loss(q, q * 2, torch.ones(3))


def test_td_loss_weights():
    q = torch.tensor([0.0, 0.0])
    y = torch.tensor([0.5, 3.0])
    loss, _ = td_loss(q, y, torch.tensor([1.0, 0.0]))
    assert loss.item() == pytest.approx(0.5 * 0.5**2 / 2)
    loss, _ = td_loss(q, y, torch.tensor([0.0, 1.0]))
    assert loss.item() == pytest.approx((3.0 - 0.5) / 2)  # linear part of Huber


def test_target_network_separate():
    """Pitfall: a target network that shares the online network's layers moves with every step."""
    agent = make_agent("nature")
    online_ptrs = {p.data_ptr() for p in agent.online.parameters()}
    assert not online_ptrs & {p.data_ptr() for p in agent.target.parameters()}

    for i in range(20):
        agent.buffer.add(torch.randn(4).numpy(), i % 2, 1.0, torch.randn(4).numpy(), False)
    before = [p.clone() for p in agent.target.parameters()]
    agent.update()
    for old, new in zip(before, agent.target.parameters()):
        torch.testing.assert_close(old, new)
    assert any(not torch.equal(o, n) for o, n in zip(before, agent.online.parameters()))

    agent.sync_target()
    for online, target in zip(agent.online.parameters(), agent.target.parameters()):
        torch.testing.assert_close(online, target)
        assert not target.requires_grad


def test_dqn2013_targets_from_online():
    agent = make_agent("dqn2013")
    assert agent.target is agent.online


def test_variant_unknown():
    with pytest.raises(ValueError, match="variant"):
        make_agent("rainbow")


def test_linear_epsilon():
    assert linear_epsilon(0, 1.0, 0.1, 10) == 1.0
    assert linear_epsilon(5, 1.0, 0.1, 10) == pytest.approx(0.55)
    assert linear_epsilon(10, 1.0, 0.1, 10) == pytest.approx(0.1)
    assert linear_epsilon(1000, 1.0, 0.1, 10) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="duration"):
        linear_epsilon(0, 1.0, 0.1, 0)
