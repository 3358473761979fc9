//! Repeated identifiers: the line each one was first seen on, so a second
//! row for the same respondent is refused naming both lines.
//!
//! Built for a million rows: identifiers live in one text arena (no
//! allocation per identifier), and their keyed hashes ([`FirstSeen::hash`],
//! SipHash with a random key, so uploaded files cannot flood one bucket)
//! can be computed in parallel before the one sequential pass that must
//! follow the file's order.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};

/// The first line of every identifier seen so far.
#[derive(Debug, Default, Clone)]
pub struct FirstSeen {
    keys: RandomState,
    /// Hash to the first entry with that hash.
    table: HashMap<u64, u32, BuildHasherDefault<Prehashed>>,
    /// Every identifier, one after the other.
    arena: String,
    /// Where each entry's identifier ends in the arena.
    ends: Vec<usize>,
    /// Each entry's first line.
    lines: Vec<u64>,
    /// The next entry with the same hash (`u32::MAX`: none).
    next: Vec<u32>,
}

impl FirstSeen {
    /// The keyed hash of `id`, for [`FirstSeen::first_line_hashed`].
    pub fn hash(&self, id: &str) -> u64 {
        self.keys.hash_one(id)
    }

    /// The line `id` was first seen on when that was before; else records
    /// `line` as its first and answers `None`.
    pub fn first_line(&mut self, id: &str, line: u64) -> Option<u64> {
        let hash = self.hash(id);
        self.first_line_hashed(id, hash, line)
    }

    /// [`FirstSeen::first_line`] with `hash` = [`FirstSeen::hash`]`(id)`.
    pub fn first_line_hashed(&mut self, id: &str, hash: u64, line: u64) -> Option<u64> {
        let mut at = self.table.get(&hash).copied();
        while let Some(e) = at.filter(|&e| e != u32::MAX) {
            let e = e as usize;
            let start = if e == 0 { 0 } else { self.ends[e - 1] };
            if self.arena.get(start..self.ends[e]) == Some(id) {
                return Some(self.lines[e]);
            }
            at = Some(self.next[e]);
        }
        // New: linked in front of any entry sharing its hash.
        let entry = u32::try_from(self.ends.len()).unwrap_or(u32::MAX);
        let previous = self.table.insert(hash, entry).unwrap_or(u32::MAX);
        self.arena.push_str(id);
        self.ends.push(self.arena.len());
        self.lines.push(line);
        self.next.push(previous);
        None
    }

    /// How many distinct identifiers were seen.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether none was seen.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

/// The table's keys are hashes already: used as they are.
#[derive(Debug, Default, Clone, Copy)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys are hashed here; fold anything else in.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[cfg(test)]
mod tests {
    use super::FirstSeen;

    #[test]
    fn a_repeat_names_the_first_line() {
        let mut seen = FirstSeen::default();
        assert_eq!(seen.first_line("R1", 2), None);
        assert_eq!(seen.first_line("R2", 3), None);
        assert_eq!(seen.first_line("R1", 9), Some(2));
        assert_eq!(seen.first_line("R1", 12), Some(2), "always the first");
        assert_eq!(seen.first_line("京-R1", 13), None);
        assert_eq!(seen.first_line("京-R1", 14), Some(13));
        assert_eq!(seen.len(), 3);
    }

    #[test]
    fn identifiers_sharing_a_hash_are_told_apart() {
        let mut seen = FirstSeen::default();
        // Forced collisions: every identifier given the same hash.
        for (i, id) in ["a", "b", "c"].iter().enumerate() {
            assert_eq!(seen.first_line_hashed(id, 7, i as u64 + 2), None);
        }
        assert_eq!(seen.first_line_hashed("b", 7, 10), Some(3));
        assert_eq!(seen.first_line_hashed("a", 7, 11), Some(2));
        assert_eq!(seen.first_line_hashed("d", 7, 12), None);
        assert_eq!(seen.len(), 4);
    }
}
