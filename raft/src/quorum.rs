//! Pure majority-quorum arithmetic, kept apart from the protocol so it can be tested alone.

use std::collections::{BTreeMap, BTreeSet};

use crate::types::{Index, NodeId};

/// Number of votes that make a majority of `n` voters (`n >= 1`).
pub fn majority(n: usize) -> usize {
    n / 2 + 1
}

/// The largest index that a majority of `voters` has acknowledged, given each voter's
/// acknowledged index (missing voters count as 0). Returns 0 for an empty voter set.
pub fn committed_index(voters: &BTreeSet<NodeId>, acked: impl Fn(NodeId) -> Index) -> Index {
    if voters.is_empty() {
        return 0;
    }
    let mut indexes: Vec<Index> = voters.iter().map(|&id| acked(id)).collect();
    // Sort descending: the majority-th largest value is acknowledged by at least a majority.
    indexes.sort_unstable_by(|a, b| b.cmp(a));
    indexes[majority(indexes.len()) - 1]
}

/// Outcome of counting votes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VoteResult {
    /// A majority granted.
    Won,
    /// A majority rejected: the election cannot be won.
    Lost,
    /// Neither yet.
    Pending,
}

/// Tally `votes` (true = granted) among `voters`; votes from non-voters are ignored.
pub fn vote_result(voters: &BTreeSet<NodeId>, votes: &BTreeMap<NodeId, bool>) -> VoteResult {
    let (mut granted, mut rejected) = (0, 0);
    for id in voters {
        match votes.get(id) {
            Some(true) => granted += 1,
            Some(false) => rejected += 1,
            None => {}
        }
    }
    let need = majority(voters.len());
    if granted >= need {
        VoteResult::Won
    } else if rejected >= need || voters.len() - rejected < need {
        VoteResult::Lost
    } else {
        VoteResult::Pending
    }
}

/// Whether the `acks` include a majority of `voters`.
pub fn has_quorum(voters: &BTreeSet<NodeId>, acks: &BTreeSet<NodeId>) -> bool {
    voters.iter().filter(|id| acks.contains(id)).count() >= majority(voters.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(ids: &[NodeId]) -> BTreeSet<NodeId> {
        ids.iter().copied().collect()
    }

    #[test]
    fn committed_index_is_majority_th_largest() {
        let v = set(&[1, 2, 3]);
        let acked = |m: [Index; 3]| committed_index(&v, |id| m[(id - 1) as usize]);
        assert_eq!(acked([5, 5, 5]), 5);
        assert_eq!(acked([9, 5, 1]), 5);
        assert_eq!(acked([9, 1, 1]), 1);
        assert_eq!(acked([0, 0, 7]), 0);
        let four = set(&[1, 2, 3, 4]);
        let m = [8, 7, 3, 1];
        assert_eq!(committed_index(&four, |id| m[(id - 1) as usize]), 3);
        assert_eq!(committed_index(&set(&[1]), |_| 4), 4);
        assert_eq!(committed_index(&BTreeSet::new(), |_| 4), 0);
    }

    #[test]
    fn vote_result_counts_only_voters() {
        let v = set(&[1, 2, 3]);
        let mut votes = BTreeMap::new();
        votes.insert(1, true);
        assert_eq!(vote_result(&v, &votes), VoteResult::Pending);
        votes.insert(9, true);
        assert_eq!(vote_result(&v, &votes), VoteResult::Pending);
        votes.insert(2, false);
        assert_eq!(vote_result(&v, &votes), VoteResult::Pending);
        votes.insert(3, false);
        assert_eq!(vote_result(&v, &votes), VoteResult::Lost);
        votes.insert(3, true);
        assert_eq!(vote_result(&v, &votes), VoteResult::Won);
        // Four voters: two rejections already make a majority unreachable.
        let four = set(&[1, 2, 3, 4]);
        let votes: BTreeMap<_, _> = [(1, true), (2, false), (3, false)].into_iter().collect();
        assert_eq!(vote_result(&four, &votes), VoteResult::Lost);
    }

    /// The sort-based computation agrees with the definition: the largest index acknowledged by
    /// at least a majority.
    #[test]
    fn committed_index_matches_brute_force() {
        let mut rng = crate::config::Rng::new(99);
        for _ in 0..2000 {
            let n = rng.range(1, 8);
            let voters: BTreeSet<NodeId> = (1..=n).collect();
            let acked: Vec<Index> = (0..n).map(|_| rng.range(0, 12)).collect();
            let fast = committed_index(&voters, |id| acked[(id - 1) as usize]);
            let slow = (0..12)
                .rev()
                .find(|&x| acked.iter().filter(|&&a| a >= x).count() >= majority(n as usize))
                .unwrap_or(0);
            assert_eq!(fast, slow, "acked {acked:?}");
        }
    }

    #[test]
    fn has_quorum_majority() {
        let v = set(&[1, 2, 3, 4, 5]);
        assert!(!has_quorum(&v, &set(&[1, 2])));
        assert!(has_quorum(&v, &set(&[1, 2, 5])));
        assert!(!has_quorum(&v, &set(&[1, 2, 6, 7])));
    }
}
