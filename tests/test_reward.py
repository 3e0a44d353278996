import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from dlnotes.reward import (
    DEFAULT_LABELERS,
    Labeler,
    PreferenceDataConfig,
    RewardModel,
    RewardTrainingConfig,
    bradley_terry_loss,
    count_pairs,
    kendall_tau,
    make_preference_data,
    pairwise_accuracy,
    preference_probability,
    ranking_loss,
    ranking_to_pairs,
    rankings_to_pair_index,
    scores_to_ranking,
    train_reward_model,
)

# --- Bradley-Terry loss and probability ---------------------------------------------------------


@pytest.mark.parametrize("delta", [0.0, 1.0, 3.0, -6.0])
def test_loss_matches_closed_form(delta):
    loss = bradley_terry_loss(torch.tensor([delta], dtype=torch.float64), torch.zeros(1, dtype=torch.float64))
    assert loss.item() == pytest.approx(math.log1p(math.exp(-delta)), rel=1e-12)


def test_loss_quoted_values():
    deltas = torch.tensor([0.0, 1.0, 3.0, -6.0], dtype=torch.float64)
    losses = bradley_terry_loss(deltas, torch.zeros(4, dtype=torch.float64), reduction="none")
    assert [round(v, 4) for v in losses.tolist()] == [0.6931, 0.3133, 0.0486, 6.0025]


def test_loss_is_cross_entropy_with_label_one():
    chosen, rejected = torch.randn(50, dtype=torch.float64), torch.randn(50, dtype=torch.float64)
    expected = F.binary_cross_entropy_with_logits(chosen - rejected, torch.ones(50, dtype=torch.float64))
    assert torch.allclose(bradley_terry_loss(chosen, rejected), expected)


def test_loss_gradient_is_sigmoid_minus_one():
    chosen = torch.linspace(-8, 8, 33, dtype=torch.float64, requires_grad=True)
    rejected = torch.zeros(33, dtype=torch.float64, requires_grad=True)
    bradley_terry_loss(chosen, rejected, reduction="sum").backward()
    expected = torch.sigmoid(chosen.detach()) - 1
    assert torch.allclose(chosen.grad, expected)
    assert torch.allclose(rejected.grad, -expected)


def test_loss_gradcheck():
    chosen = torch.randn(6, dtype=torch.float64, requires_grad=True)
    rejected = torch.randn(6, dtype=torch.float64, requires_grad=True)
    margin = torch.rand(6, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda c, r: bradley_terry_loss(c, r, margin=margin, reduction="none"), (chosen, rejected))


def test_loss_stable_far_below_float32_range():
    chosen = torch.tensor([-1000.0, -100.0, -88.0], requires_grad=True)
    loss = bradley_terry_loss(chosen, torch.zeros(3), reduction="none")
    loss.sum().backward()
    assert loss.tolist() == pytest.approx([1000.0, 100.0, 88.0])
    assert chosen.grad.tolist() == [-1.0, -1.0, -1.0]


def test_naive_log_sigmoid_underflows_below_minus_88():
    # The reason the loss uses logsigmoid: in float32, sigmoid(-89) rounds to 0.
    delta = torch.tensor([-88.0, -89.0], requires_grad=True)
    naive = -torch.log(torch.sigmoid(delta))
    naive.sum().backward()
    assert torch.isfinite(naive[0])
    assert naive[1].item() == math.inf
    assert torch.isnan(delta.grad[1])


def test_loss_margin_shifts_difference():
    chosen, rejected = torch.tensor([2.0, 0.5]), torch.tensor([1.0, 0.0])
    with_margin = bradley_terry_loss(chosen, rejected, margin=torch.tensor([1.0, 0.5]), reduction="none")
    assert torch.allclose(with_margin, torch.full((2,), math.log(2.0)))
    scalar = bradley_terry_loss(chosen, rejected, margin=1.0, reduction="none")
    assert torch.allclose(scalar, -F.logsigmoid(chosen - rejected - 1.0))


def test_loss_reductions():
    chosen, rejected = torch.tensor([1.0, 2.0, 3.0]), torch.zeros(3)
    per_pair = bradley_terry_loss(chosen, rejected, reduction="none")
    assert per_pair.shape == (3,)
    assert bradley_terry_loss(chosen, rejected, reduction="sum").item() == pytest.approx(per_pair.sum().item())
    assert bradley_terry_loss(chosen, rejected).item() == pytest.approx(per_pair.mean().item())


@pytest.mark.parametrize(
    "chosen, rejected, kwargs, match",
    [
        (torch.zeros(3), torch.zeros(2), {}, "shape"),
        (torch.zeros(0), torch.zeros(0), {}, "empty"),
        (torch.tensor([math.inf]), torch.zeros(1), {}, "non-finite"),
        (torch.zeros(1), torch.tensor([math.nan]), {}, "non-finite"),
        (torch.zeros(2, dtype=torch.int64), torch.zeros(2, dtype=torch.int64), {}, "floating-point"),
        (torch.zeros(2), torch.zeros(2), {"reduction": "max"}, "reduction"),
        (torch.zeros(2), torch.zeros(2), {"margin": torch.zeros(3)}, "margin"),
        (torch.zeros(2), torch.zeros(2), {"margin": math.nan}, "margin"),
    ],
)
def test_loss_rejects_bad_input(chosen, rejected, kwargs, match):
    with pytest.raises(ValueError, match=match):
        bradley_terry_loss(chosen, rejected, **kwargs)


@given(st.floats(-30, 30), st.floats(-30, 30))
def test_probability_antisymmetric(a, b):
    ra, rb = torch.tensor([a], dtype=torch.float64), torch.tensor([b], dtype=torch.float64)
    total = preference_probability(ra, rb) + preference_probability(rb, ra)
    assert total.item() == pytest.approx(1.0)


def test_probability_log_odds_is_difference():
    chosen, rejected = torch.tensor([0.0, 2.0, -1.5], dtype=torch.float64), torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64)
    p = preference_probability(chosen, rejected)
    assert p[0].item() == 0.5
    assert torch.allclose(torch.log(p / (1 - p)), chosen - rejected)


def test_probability_rejects_bad_input():
    with pytest.raises(ValueError, match="shape"):
        preference_probability(torch.zeros(2), torch.zeros(3))
    with pytest.raises(ValueError, match="non-finite"):
        preference_probability(torch.tensor([math.nan]), torch.zeros(1))
    with pytest.raises(ValueError, match="empty"):
        preference_probability(torch.zeros(0), torch.zeros(0))


# --- Rankings to pairs ------------------------------------------------------------------------


def test_pairs_with_tie():
    pairs = ranking_to_pairs([["D"], ["C"], ["A", "B"]])
    assert pairs == [("D", "C"), ("D", "A"), ("D", "B"), ("C", "A"), ("C", "B")]
    assert ranking_to_pairs(["D", "C", ["A", "B"]]) == pairs
    assert len(pairs) == math.comb(4, 2) - 1


def test_pairs_strict_ranking_of_nine():
    pairs = ranking_to_pairs(list(range(9)), response_ids=range(9))
    assert len(pairs) == 36
    assert all(winner < loser for winner, loser in pairs)
    assert count_pairs([1] * 9) * 64 == 2304


def test_pairs_all_tied_is_empty():
    assert ranking_to_pairs([["A", "B", "C"]]) == []


@pytest.mark.parametrize(
    "ranking, response_ids, match",
    [
        ([], None, "empty"),
        (["A", []], None, "empty"),
        (["A", ["B", "A"]], None, "twice"),
        ("DCBA", None, "sequence of groups"),
        ([["A"], [["B"]]], None, "lists or tuples"),
        ([["A"], [{"B"}]], None, "hashable"),
        (["A", "Z"], ["A", "B"], "unknown"),
        (["A"], ["A", "B"], "missing"),
        (["A", "B"], ["A", "B", "A"], "duplicates"),
    ],
)
def test_pairs_reject_bad_ranking(ranking, response_ids, match):
    with pytest.raises(ValueError, match=match):
        ranking_to_pairs(ranking, response_ids=response_ids)


@settings(max_examples=50)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=5))
def test_pairs_count_and_order(group_sizes):
    ids = iter(range(sum(group_sizes)))
    ranking = [[next(ids) for _ in range(size)] for size in group_sizes]
    group_of = {member: position for position, group in enumerate(ranking) for member in group}

    pairs = ranking_to_pairs(ranking)

    assert len(pairs) == count_pairs(group_sizes)
    assert len(set(pairs)) == len(pairs)
    assert all(group_of[winner] < group_of[loser] for winner, loser in pairs)


def test_count_pairs_rejects_bad_sizes():
    with pytest.raises(ValueError, match="group_sizes"):
        count_pairs([])
    with pytest.raises(ValueError, match="group_sizes"):
        count_pairs([2, 0])


def test_scores_to_ranking_groups_ties():
    assert scores_to_ranking(torch.tensor([3, 5, 3, 1])) == [[1], [0, 2], [3]]
    assert scores_to_ranking(torch.tensor([0.1, -0.2])) == [[0], [1]]
    with pytest.raises(ValueError, match="non-finite"):
        scores_to_ranking(torch.tensor([0.0, math.nan]))
    with pytest.raises(ValueError, match="shape"):
        scores_to_ranking(torch.zeros(2, 2))


def test_pair_index_pads_ties():
    index = rankings_to_pair_index([[3, 2, [0, 1]], [0, 1, 2, 3]], num_responses=4)
    assert index.winners.shape == (2, 6)
    assert index.mask.sum(dim=1).tolist() == [5, 6]
    assert index.winners[0, :5].tolist() == [3, 3, 3, 2, 2]
    assert index.losers[0, :5].tolist() == [2, 0, 1, 0, 1]
    with pytest.raises(ValueError, match="unknown"):
        rankings_to_pair_index([[0, 1, 5]], num_responses=3)
    with pytest.raises(ValueError, match="num_responses"):
        rankings_to_pair_index([[0]], num_responses=1)


# --- Per-prompt ranking loss ------------------------------------------------------------------


def test_ranking_loss_is_mean_over_pairs_without_ties():
    rewards = torch.randn(3, 4, dtype=torch.float64)
    rankings = [[2, 0, 3, 1], [0, 1, 2, 3], [3, 2, 1, 0]]
    index = rankings_to_pair_index(rankings, num_responses=4)

    expected = []
    for prompt, ranking in enumerate(rankings):
        pairs = ranking_to_pairs(ranking)
        chosen = rewards[prompt, [w for w, _ in pairs]]
        rejected = rewards[prompt, [l for _, l in pairs]]
        expected.append(bradley_terry_loss(chosen, rejected))
    assert ranking_loss(rewards, index).item() == pytest.approx(torch.stack(expected).mean().item())


def test_ranking_loss_divides_by_all_pairs_with_ties():
    rewards = torch.tensor([[0.0, 0.0, 1.0, 2.0]], dtype=torch.float64)
    index = rankings_to_pair_index([[3, 2, [0, 1]]], num_responses=4)
    pairs = ranking_to_pairs([3, 2, [0, 1]])
    total = bradley_terry_loss(rewards[0, [w for w, _ in pairs]], rewards[0, [l for _, l in pairs]], reduction="sum")
    assert ranking_loss(rewards, index).item() == pytest.approx(total.item() / 6)


def test_ranking_loss_gradcheck():
    rewards = torch.randn(2, 4, dtype=torch.float64, requires_grad=True)
    index = rankings_to_pair_index([[1, [0, 3], 2], [3, 2, 1, 0]], num_responses=4)
    margins = torch.rand(2, 6, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda r: ranking_loss(r, index, margins), (rewards,))


def test_ranking_loss_rejects_bad_input():
    index = rankings_to_pair_index([[0, 1, 2]], num_responses=3)
    with pytest.raises(ValueError, match="shape"):
        ranking_loss(torch.zeros(1, 4), index)
    with pytest.raises(ValueError, match="non-finite"):
        ranking_loss(torch.tensor([[0.0, math.inf, 1.0]]), index)
    with pytest.raises(ValueError, match="empty"):
        ranking_loss(torch.zeros(0, 3), index[torch.zeros(0, dtype=torch.int64)])


# --- Metrics ----------------------------------------------------------------------------------


def test_kendall_tau_hand_worked():
    # Pairs of [1, 2, 3, 4] vs [1, 3, 2, 4]: 5 concordant, 1 discordant, so tau = 4 / 6.
    assert kendall_tau(torch.tensor([1.0, 2.0, 3.0, 4.0]), torch.tensor([1.0, 3.0, 2.0, 4.0])) == pytest.approx(4 / 6)


def test_kendall_tau_b_with_tie():
    # x ties one of its 6 pairs, the other 5 are concordant: tau-b = 5 / sqrt(5 * 6).
    assert kendall_tau(torch.tensor([1.0, 2.0, 2.0, 3.0]), torch.tensor([1.0, 2.0, 3.0, 4.0])) == pytest.approx(5 / math.sqrt(30))


@settings(max_examples=50)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=2, max_size=12))
def test_kendall_tau_matches_pair_loop(points):
    x = torch.tensor([p[0] for p in points], dtype=torch.float64)
    y = torch.tensor([p[1] for p in points], dtype=torch.float64)
    signs = [
        (math.copysign(1, x[i] - x[j]) if x[i] != x[j] else 0, math.copysign(1, y[i] - y[j]) if y[i] != y[j] else 0)
        for i in range(len(points))
        for j in range(i + 1, len(points))
    ]
    untied_x = sum(sx != 0 for sx, _ in signs)
    untied_y = sum(sy != 0 for _, sy in signs)
    if untied_x == 0 or untied_y == 0:
        with pytest.raises(ValueError, match="constant"):
            kendall_tau(x, y)
        return

    expected = sum(sx * sy for sx, sy in signs) / math.sqrt(untied_x * untied_y)
    assert kendall_tau(x, y) == pytest.approx(expected)


def test_kendall_tau_extremes_and_errors():
    x = torch.randn(20, dtype=torch.float64)
    assert kendall_tau(x, 3 * x + 1) == pytest.approx(1.0)
    assert kendall_tau(x, -x) == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="constant"):
        kendall_tau(x, torch.ones(20))
    with pytest.raises(ValueError, match="shape"):
        kendall_tau(x, x[:5])
    with pytest.raises(ValueError, match="at least 2"):
        kendall_tau(x[:1], x[:1])


def test_pairwise_accuracy_counts_ties_as_half():
    index = rankings_to_pair_index([[0, 1, 2]], num_responses=3)
    assert pairwise_accuracy(torch.tensor([[3.0, 2.0, 1.0]]), index) == 1.0
    assert pairwise_accuracy(torch.tensor([[1.0, 2.0, 3.0]]), index) == 0.0
    assert pairwise_accuracy(torch.tensor([[1.0, 1.0, 0.0]]), index) == pytest.approx(2.5 / 3)
    with pytest.raises(ValueError, match="shape"):
        pairwise_accuracy(torch.zeros(1, 4), index)


# --- Synthetic data ---------------------------------------------------------------------------


def test_data_shapes_and_likert_range():
    data = make_preference_data(PreferenceDataConfig(num_prompts=50, responses_per_prompt=5, num_features=3))
    assert data.features.shape == (50, 5, 3)
    assert data.true_reward.shape == data.ratings.shape == (50, 5)
    assert data.ratings.min().item() >= 1
    assert data.ratings.max().item() <= 7
    assert data.ranking_pairs().mask.sum().item() == 50 * 10


def test_data_deterministic_and_world_shared():
    first = make_preference_data(PreferenceDataConfig(num_prompts=20, seed=3))
    again = make_preference_data(PreferenceDataConfig(num_prompts=20, seed=3))
    other = make_preference_data(PreferenceDataConfig(num_prompts=20, seed=4))
    assert torch.equal(first.ratings, again.ratings)
    assert not torch.equal(first.features, other.features)

    # A different seed draws new responses but scores them with the same hidden reward.
    moved = make_preference_data(PreferenceDataConfig(num_prompts=20, seed=4, world_seed=1))
    assert torch.equal(moved.features, other.features)
    assert not torch.allclose(moved.true_reward, other.true_reward)


def test_labeler_habits_leave_rankings_unchanged():
    calibrated = (Labeler("a", shift=0.0, scale=1.0, noise_std=0.3),)
    shifted = (Labeler("b", shift=2.0, scale=0.3, noise_std=0.3),)
    a = make_preference_data(PreferenceDataConfig(num_prompts=30, labelers=calibrated))
    b = make_preference_data(PreferenceDataConfig(num_prompts=30, labelers=shifted))
    assert torch.equal(a.ranking_pairs().winners, b.ranking_pairs().winners)
    assert not torch.equal(a.ratings, b.ratings)
    # The compressed scale rounds more responses onto the same rating, so more ties.
    assert b.rating_pairs().mask.sum() < a.rating_pairs().mask.sum()


def test_data_rejects_bad_config():
    with pytest.raises(ValueError, match="responses_per_prompt"):
        make_preference_data(PreferenceDataConfig(responses_per_prompt=1))
    with pytest.raises(ValueError, match="scale"):
        make_preference_data(PreferenceDataConfig(labelers=(Labeler("x", 0.0, 0.0, 0.1),)))
    with pytest.raises(ValueError, match="labelers"):
        make_preference_data(PreferenceDataConfig(labelers=()))


# --- Reward model and training ----------------------------------------------------------------


def test_model_shares_weights_across_responses():
    model = RewardModel(num_features=3, hidden=8).double()
    features = torch.randn(5, 2, 3, dtype=torch.float64)
    rewards = model(features)
    assert rewards.shape == (5, 2)
    assert torch.allclose(rewards[:, 0], model(features[:, 0]))
    assert torch.allclose(rewards[:, 1], model(features[:, 1]))


def test_center_keeps_differences():
    model = RewardModel(num_features=3, hidden=8).double()
    features = torch.randn(40, 3, dtype=torch.float64)
    before = model(features).detach()
    model.center_(features)
    after = model(features).detach()
    assert after.mean().item() == pytest.approx(0.0, abs=1e-12)
    assert torch.allclose(after[1:] - after[:-1], before[1:] - before[:-1])


SMALL = PreferenceDataConfig(num_prompts=64, responses_per_prompt=4, num_features=4, seed=1)
HELDOUT = PreferenceDataConfig(num_prompts=64, responses_per_prompt=4, num_features=4, seed=2)


@pytest.mark.parametrize("objective", ["ranking", "shuffled_pairs", "rating_regression"])
def test_training_learns_and_is_deterministic(objective):
    train, heldout = make_preference_data(SMALL), make_preference_data(HELDOUT)
    config = RewardTrainingConfig(objective=objective, epochs=8, hidden=16)
    threads = torch.get_num_threads()

    _, history = train_reward_model(train, config, heldout=heldout)
    _, again = train_reward_model(train, config, heldout=heldout)

    assert history == again
    assert history[-1].heldout_true_accuracy > 0.75
    assert history[-1].heldout_kendall_tau > 0.5
    assert torch.get_num_threads() == threads


def test_training_counts_forward_passes():
    train = make_preference_data(SMALL)
    _, ranking = train_reward_model(train, RewardTrainingConfig(objective="ranking", epochs=2))
    _, shuffled = train_reward_model(train, RewardTrainingConfig(objective="shuffled_pairs", epochs=2))
    assert ranking[-1].responses_scored == 2 * 64 * 4
    assert shuffled[-1].responses_scored == 2 * 2 * 64 * 6
    assert ranking[-1].steps == 2 * 4
    assert ranking[-1].heldout_label_accuracy is None


def test_training_with_margin_and_tied_pairs():
    train = make_preference_data(SMALL)
    config = RewardTrainingConfig(epochs=2, margin_per_rating_point=0.5)
    model, history = train_reward_model(train, config, pairs=train.rating_pairs())
    assert len(history) == 2
    assert 0.5 < history[-1].train_label_accuracy <= 1.0


@pytest.mark.parametrize(
    "config, match",
    [
        (RewardTrainingConfig(objective="listwise"), "objective"),
        (RewardTrainingConfig(epochs=0), "epochs"),
        (RewardTrainingConfig(learning_rate=0.0), "learning_rate"),
        (RewardTrainingConfig(margin_per_rating_point=-1.0), "margin_per_rating_point"),
        (RewardTrainingConfig(objective="rating_regression", margin_per_rating_point=1.0), "margin_per_rating_point"),
    ],
)
def test_training_rejects_bad_config(config, match):
    with pytest.raises(ValueError, match=match):
        train_reward_model(make_preference_data(SMALL), config)


def test_regression_rejects_constant_ratings():
    data = make_preference_data(PreferenceDataConfig(num_prompts=8))
    flat = dataclasses.replace(data, ratings=torch.full_like(data.ratings, 4))
    with pytest.raises(ValueError, match="distinct ratings"):
        train_reward_model(flat, RewardTrainingConfig(objective="rating_regression"))


def test_training_rejects_mismatched_pairs():
    train = make_preference_data(SMALL)
    other = make_preference_data(PreferenceDataConfig(num_prompts=10, responses_per_prompt=4, num_features=4))
    with pytest.raises(ValueError, match="pairs"):
        train_reward_model(train, RewardTrainingConfig(), pairs=other.ranking_pairs())


def test_default_labelers_have_distinct_habits():
    assert len({(l.shift, l.scale, l.noise_std) for l in DEFAULT_LABELERS}) == len(DEFAULT_LABELERS)
