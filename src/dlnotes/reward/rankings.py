"""Rankings of K responses, possibly with ties, turned into (winner, loser) pairs.

A ranking is a sequence of groups, best group first. Each group is a list or
tuple of response ids that the labeler tied. A bare id (anything that is not a
list or tuple) is a group of one. So D > C > A = B is written
``["D", "C", ["A", "B"]]`` or ``[["D"], ["C"], ["A", "B"]]``. Ids are any
hashable values except lists and tuples; the batched helpers use the integer
positions 0..K-1 of the responses.

Every id in a better group beats every id in a worse group, and tied ids form
no pair, so a ranking of K ids yields C(K, 2) - sum over groups of C(g, 2) pairs.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

Ranking = Sequence[object]  # groups best first; a group is a list or tuple of ids, or one bare id


def _normalize_ranking(ranking: Ranking, response_ids: Sequence[Hashable] | None) -> list[list[Hashable]]:
    """Return the ranking as a list of non-empty groups, after checking every id."""
    if isinstance(ranking, (str, bytes)) or not isinstance(ranking, Sequence):
        raise ValueError(f"ranking={ranking!r} is not a sequence of groups; write D > C > A = B as ['D', 'C', ['A', 'B']]")
    if len(ranking) == 0:
        raise ValueError("ranking=[] is empty; pass at least one group of response ids")

    groups = []
    for position, group in enumerate(ranking):
        members = list(group) if isinstance(group, (list, tuple)) else [group]
        if not members:
            raise ValueError(f"group {position} of ranking={ranking!r} is empty; drop it or put at least one id in it")
        for member in members:
            if isinstance(member, (list, tuple)) or not isinstance(member, Hashable):
                raise ValueError(f"id {member!r} in ranking={ranking!r} is a {type(member).__name__}; ids must be hashable and not lists or tuples")
        groups.append(members)

    seen: set[Hashable] = set()
    for member in (m for group in groups for m in group):
        if member in seen:
            raise ValueError(f"id {member!r} appears twice in ranking={ranking!r}; each response takes exactly one place")
        seen.add(member)

    if response_ids is not None:
        expected = list(response_ids)
        if len(set(expected)) != len(expected):
            raise ValueError(f"response_ids={expected!r} contains duplicates; pass each response id once")
        unknown = [m for m in seen if m not in set(expected)]
        if unknown:
            raise ValueError(f"ids {unknown!r} in ranking={ranking!r} are unknown; expected only ids from {expected!r}")
        missing = [m for m in expected if m not in seen]
        if missing:
            raise ValueError(f"ids {missing!r} of response_ids are missing from ranking={ranking!r}; rank every response, tying those the labeler could not separate")
    return groups


def ranking_to_pairs(ranking: Ranking, response_ids: Sequence[Hashable] | None = None) -> list[tuple[Hashable, Hashable]]:
    """Expand a ranking with ties into its (winner, loser) pairs.

    ``ranking`` lists groups best first (see the module docstring). When
    ``response_ids`` is given, the ranking must contain each of them exactly
    once. Pairs come out in ranking order: the first group's ids against every
    later group, then the second group's, and so on. Tied ids form no pair.
    Raises ValueError on an empty ranking or group, a duplicate id, or an id
    that is unknown to or missing from ``response_ids``.
    """
    groups = _normalize_ranking(ranking, response_ids)

    pairs = []
    for better_position, better in enumerate(groups):
        for worse in groups[better_position + 1 :]:
            pairs.extend((winner, loser) for winner in better for loser in worse)
    return pairs


def count_pairs(group_sizes: Sequence[int]) -> int:
    """Count the comparisons in a ranking whose tied groups have these sizes.

    K = sum(group_sizes) responses give C(K, 2) pairs minus C(g, 2) for each
    group of g tied responses.
    """
    if len(group_sizes) == 0 or any(isinstance(g, bool) or not isinstance(g, int) or g < 1 for g in group_sizes):
        raise ValueError(f"group_sizes={list(group_sizes)!r} is invalid; expected a non-empty list of positive ints")
    return math.comb(sum(group_sizes), 2) - sum(math.comb(g, 2) for g in group_sizes)


def scores_to_ranking(scores: Tensor) -> list[list[int]]:
    """Rank the positions of a (K,) tensor of scores, highest first; equal scores share a group.

    Use it to read a ranking off Likert ratings (many ties) or off a labeler's
    continuous judgement (no ties). Within a group, positions are ascending.
    """
    if scores.ndim != 1 or scores.numel() == 0:
        raise ValueError(f"scores has shape {tuple(scores.shape)}; expected a non-empty (K,) tensor")
    if scores.is_floating_point() and not torch.isfinite(scores).all():
        raise ValueError(f"scores={scores.tolist()!r} contains non-finite values; rank only finite scores")

    groups: dict[float, list[int]] = {}
    for position, value in enumerate(scores.tolist()):
        groups.setdefault(value, []).append(position)
    return [groups[value] for value in sorted(groups, reverse=True)]


@dataclass(frozen=True)
class PairIndex:
    """All comparisons of B prompts with K responses each, padded to C(K, 2) pairs per prompt.

    ``winners[b, p]`` and ``losers[b, p]`` are positions in 0..K-1 of prompt b's
    responses; ``mask[b, p]`` is False for padding, which tied responses leave.
    """

    winners: Tensor  # (B, P) int64, P = C(K, 2)
    losers: Tensor  # (B, P) int64
    mask: Tensor  # (B, P) bool
    num_responses: int  # K

    def __getitem__(self, prompts: Tensor | slice) -> PairIndex:
        """Select the pairs of some prompts, e.g. a mini-batch."""
        return PairIndex(self.winners[prompts], self.losers[prompts], self.mask[prompts], self.num_responses)


def rankings_to_pair_index(rankings: Sequence[Ranking], num_responses: int) -> PairIndex:
    """Expand B rankings over the positions 0..K-1 into padded (B, C(K, 2)) pair tensors.

    Each ranking must contain every position 0..K-1 exactly once (ties allowed).
    """
    if isinstance(num_responses, bool) or not isinstance(num_responses, int) or num_responses < 2:
        raise ValueError(f"num_responses={num_responses!r} is invalid; expected an int >= 2 (one comparison needs two responses)")
    if len(rankings) == 0:
        raise ValueError("rankings is empty; pass at least one prompt's ranking")

    max_pairs = math.comb(num_responses, 2)
    winners = torch.zeros(len(rankings), max_pairs, dtype=torch.int64)
    losers = torch.zeros(len(rankings), max_pairs, dtype=torch.int64)
    mask = torch.zeros(len(rankings), max_pairs, dtype=torch.bool)
    for prompt, ranking in enumerate(rankings):
        pairs = ranking_to_pairs(ranking, response_ids=range(num_responses))
        if pairs:
            winners[prompt, : len(pairs)] = torch.tensor([w for w, _ in pairs])
            losers[prompt, : len(pairs)] = torch.tensor([l for _, l in pairs])
            mask[prompt, : len(pairs)] = True
    return PairIndex(winners, losers, mask, num_responses)
