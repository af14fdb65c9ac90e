//! Tuples between tasks, their tuple-tree ids, and the random numbers that
//! make those ids.

use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;

/// The tuple trees a tuple belongs to: (root id, this tuple's edge id)
/// pairs, Storm's `MessageId.anchorsToIds`. Most tuples are in one tree.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Roots {
    /// Not tracked (unanchored, or from an untracked spout tuple).
    #[default]
    None,
    /// In one tree.
    One((u64, u64)),
    /// In several trees (anchored to inputs of different spout tuples).
    Many(Box<[(u64, u64)]>),
}

impl Roots {
    /// The pairs.
    pub fn pairs(&self) -> &[(u64, u64)] {
        match self {
            Roots::None => &[],
            Roots::One(pair) => std::slice::from_ref(pair),
            Roots::Many(pairs) => pairs,
        }
    }

    /// Builds from pairs, merging pairs of the same root by XOR (Storm's
    /// `putXor`).
    pub fn from_pairs(mut pairs: Vec<(u64, u64)>) -> Self {
        match pairs.len() {
            0 => Roots::None,
            1 => Roots::One(pairs[0]),
            _ => {
                pairs.sort_unstable_by_key(|p| p.0);
                let mut merged: Vec<(u64, u64)> = Vec::with_capacity(pairs.len());
                for (root, edge) in pairs {
                    match merged.last_mut() {
                        Some(last) if last.0 == root => last.1 ^= edge,
                        _ => merged.push((root, edge)),
                    }
                }
                if merged.len() == 1 {
                    Roots::One(merged[0])
                } else {
                    Roots::Many(merged.into_boxed_slice())
                }
            }
        }
    }
}

/// The source of tick tuples (`__system`, stream `__tick`).
pub const SYSTEM: u32 = u32::MAX;

/// A tuple's values: one MessagePack array. An emit to one task (the usual
/// case) moves its bytes; only an emit to several shares them.
#[derive(Debug)]
pub enum Payload {
    /// The only copy.
    Owned(Vec<u8>),
    /// Shared by the copies of one emit.
    Shared(Arc<Vec<u8>>),
}

impl Payload {
    /// The bytes, as the plugin gets them (copied only when still shared).
    pub fn into_vec(self) -> Vec<u8> {
        match self {
            Payload::Owned(v) => v,
            Payload::Shared(shared) => Arc::try_unwrap(shared).unwrap_or_else(|shared| (*shared).clone()),
        }
    }

    /// Their length.
    pub fn len(&self) -> usize {
        match self {
            Payload::Owned(v) => v.len(),
            Payload::Shared(v) => v.len(),
        }
    }
}

/// A tuple on its way to a task. Component and stream are indices (into
/// [`Shared::names`](super::host::Shared::names)), not shared strings: a
/// reference count bumped by one core and dropped by another costs a cache
/// line transfer per tuple.
#[derive(Debug)]
pub struct Tuple {
    /// The receiving task.
    pub dest: i32,
    /// The emitting task (-1 for tick tuples).
    pub source_task: i32,
    /// The emitting component's index ([`SYSTEM`] for tick tuples).
    pub source: u32,
    /// The stream's index among the source's streams.
    pub stream: u32,
    /// The values.
    pub values: Payload,
    /// Its tuple trees.
    pub roots: Roots,
}

/// SplitMix64: fast, good enough for shuffles and tuple-tree ids (which
/// only need to be distinct with high probability, as Storm's).
pub struct Rng(u64);

impl Rng {
    /// Seeded from the process's random hasher keys and `salt`.
    pub fn new(salt: u64) -> Self {
        Rng(RandomState::new().hash_one(salt))
    }

    /// The next number; never 0 (a 0 edge id would not change an XOR).
    pub fn next(&mut self) -> u64 {
        loop {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let value = mix(self.0);
            if value != 0 {
                return value;
            }
        }
    }

    /// A number below `n` (> 0).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next() as u128 * n as u128) >> 64) as usize
    }
}

/// SplitMix64's finalizer: spreads every input bit over the output, so a
/// hash's low bits are usable for a modulo.
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
