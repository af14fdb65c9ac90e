//! The tuples in flight: a fixed table of `max_pending` slots instead of a
//! map of id strings. An id number names its slot (`key % slots`) and the
//! slot remembers the whole key, so an ack of a tuple no longer in flight
//! (a duplicate, or an id the driver never sent) is caught without any
//! hashing or allocation.

use crate::wire::{parse_id, Id, ID_BASE};

#[derive(Clone, Copy, Default)]
struct Slot {
    /// 0 when free.
    key: u64,
    /// When the tuple was written, in ns on the driver's clock.
    sent_ns: u64,
}

/// The tuples sent and not yet acked or failed.
pub struct Flight {
    slots: Vec<Slot>,
    free: Vec<u32>,
    /// Bumped per tuple; `key = round * slots + slot` never repeats.
    round: u64,
    len: usize,
}

impl Flight {
    /// Room for `capacity` tuples.
    pub fn new(capacity: usize) -> Flight {
        let capacity = capacity.max(1);
        Flight { slots: vec![Slot::default(); capacity], free: (0..capacity as u32).rev().collect(), round: 1, len: 0 }
    }

    /// Tuples in flight.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is in flight.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether another tuple fits.
    pub fn has_room(&self) -> bool {
        !self.free.is_empty()
    }

    /// Takes a slot for a tuple written at `sent_ns`; returns its id number.
    pub fn insert(&mut self, sent_ns: u64) -> u64 {
        let slot = self.free.pop().expect("insert only when has_room") as u64;
        let key = self.round * self.slots.len() as u64 + slot;
        self.round += 1;
        self.slots[slot as usize] = Slot { key, sent_ns };
        self.len += 1;
        ID_BASE + key
    }

    fn slot_of(&self, id: Id<'_>) -> Option<usize> {
        let key = parse_id(id.0)?.checked_sub(ID_BASE)?;
        let slot = (key % self.slots.len() as u64) as usize;
        (key != 0 && self.slots[slot].key == key).then_some(slot)
    }

    /// Whether `id` is in flight (an emit may anchor to it).
    pub fn contains(&self, id: Id<'_>) -> bool {
        self.slot_of(id).is_some()
    }

    /// Ends `id`'s flight; returns when it was sent, or `None` if it was not
    /// in flight.
    pub fn remove(&mut self, id: Id<'_>) -> Option<u64> {
        let slot = self.slot_of(id)?;
        let sent = self.slots[slot].sent_ns;
        self.slots[slot].key = 0;
        self.free.push(slot as u32);
        self.len -= 1;
        Some(sent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(id: u64) -> Vec<u8> {
        let mut out = Vec::new();
        crate::wire::write_id(&mut out, id);
        out
    }

    #[test]
    fn each_id_ends_once() {
        let mut f = Flight::new(2);
        let a = text(f.insert(10));
        let b = text(f.insert(20));
        assert!(!f.has_room());
        assert!(f.contains(Id(&a)) && f.contains(Id(&b)));
        assert_eq!(f.remove(Id(&a)), Some(10));
        assert_eq!(f.remove(Id(&a)), None, "a duplicate ack");
        let c = text(f.insert(30)); // reuses a's slot under a new key
        assert_ne!(a, c);
        assert!(!f.contains(Id(&a)) && f.contains(Id(&c)));
        assert_eq!(f.remove(Id(b"-1")), None);
        assert_eq!(f.remove(Id(&text(ID_BASE))), None, "key 0 is never handed out");
        assert_eq!((f.remove(Id(&b)), f.remove(Id(&c)), f.len()), (Some(20), Some(30), 0));
    }
}
