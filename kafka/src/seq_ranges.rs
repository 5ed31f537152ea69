//! Sets of message sequence numbers as sorted, disjoint, inclusive ranges:
//! what a produce task's tries delivered, stored compactly (100,000
//! messages acknowledged in order are one range).

/// A set of `u64`s as ranges `(first, last)`, inclusive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeqRanges {
    ranges: Vec<(u64, u64)>,
}

impl SeqRanges {
    pub fn new() -> Self {
        Self::default()
    }

    /// From stored ranges in any order, overlapping or not.
    pub fn from_ranges(ranges: impl IntoIterator<Item = (u64, u64)>) -> Self {
        let mut s = Self::new();
        for (a, b) in ranges {
            s.insert_range(a, b);
        }
        s
    }

    pub fn ranges(&self) -> &[(u64, u64)] {
        &self.ranges
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// How many numbers the set holds.
    pub fn count(&self) -> u64 {
        self.ranges.iter().map(|(a, b)| b - a + 1).sum()
    }

    pub fn contains(&self, n: u64) -> bool {
        let i = self.ranges.partition_point(|&(_, last)| last < n);
        self.ranges.get(i).is_some_and(|&(first, _)| first <= n)
    }

    pub fn insert(&mut self, n: u64) {
        self.insert_range(n, n);
    }

    /// Adds `first..=last` (ignored when `first > last`), merging with
    /// neighbours it overlaps or touches.
    pub fn insert_range(&mut self, first: u64, last: u64) {
        if first > last {
            return;
        }
        // The first range that ends at or after first-1 (could touch).
        let start = self
            .ranges
            .partition_point(|&(_, l)| l.saturating_add(1) < first);
        let mut end = start;
        let (mut a, mut b) = (first, last);
        while let Some(&(f, l)) = self.ranges.get(end) {
            if f > b.saturating_add(1) {
                break;
            }
            a = a.min(f);
            b = b.max(l);
            end += 1;
        }
        self.ranges.splice(start..end, [(a, b)]);
    }

    /// The numbers in `self` and not in `other`, as ranges.
    pub fn minus(&self, other: &SeqRanges) -> SeqRanges {
        let mut out = SeqRanges::new();
        for &(a, b) in &self.ranges {
            let mut from = a;
            for &(oa, ob) in &other.ranges {
                if ob < from || oa > b {
                    continue;
                }
                if oa > from {
                    out.insert_range(from, oa - 1);
                }
                from = ob.saturating_add(1);
                if from > b {
                    break;
                }
            }
            if from <= b && from >= a {
                out.insert_range(from, b);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    // Inserting in any order merges touching numbers into one range.
    #[test]
    fn merges_touching_and_overlapping() {
        let mut s = SeqRanges::new();
        for n in [5, 3, 4, 10, 0, 1, 2, 12, 11] {
            s.insert(n);
        }
        assert_eq!(s.ranges(), &[(0, 5), (10, 12)]);
        assert_eq!(s.count(), 9);
        s.insert_range(6, 9);
        assert_eq!(s.ranges(), &[(0, 12)]);
        assert!(s.contains(7) && !s.contains(13));
    }

    // Against a plain set, on pseudo-random inserts and differences.
    #[test]
    fn agrees_with_a_set() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % 200
        };
        for _ in 0..200 {
            let (mut s, mut t) = (SeqRanges::new(), SeqRanges::new());
            let (mut ss, mut ts) = (BTreeSet::new(), BTreeSet::new());
            for _ in 0..30 {
                let (a, len) = (next(), next() % 7);
                s.insert_range(a, a + len);
                ss.extend(a..=a + len);
                let b = next();
                t.insert(b);
                ts.insert(b);
            }
            for n in 0..210 {
                assert_eq!(s.contains(n), ss.contains(&n), "{n} in {s:?}");
            }
            assert_eq!(s.count(), ss.len() as u64);
            let d = s.minus(&t);
            let ds: BTreeSet<u64> = ss.difference(&ts).copied().collect();
            for n in 0..210 {
                assert_eq!(d.contains(n), ds.contains(&n), "{n} in {d:?}");
            }
            // Ranges stay sorted, disjoint and not touching.
            for w in s.ranges().windows(2) {
                assert!(w[0].1 + 1 < w[1].0, "{s:?}");
            }
        }
    }
}
