//! Repeated identifiers: the line each one was first seen on, so a second
//! row for the same respondent is refused naming both lines.

use std::collections::HashMap;

/// The first line of every identifier seen so far.
#[derive(Debug, Default, Clone)]
pub struct FirstSeen {
    lines: HashMap<Box<str>, u64>,
}

impl FirstSeen {
    /// The line `id` was first seen on when that was before; else records
    /// `line` as its first and answers `None`.
    pub fn first_line(&mut self, id: &str, line: u64) -> Option<u64> {
        if let Some(&first) = self.lines.get(id) {
            return Some(first);
        }
        self.lines.insert(id.into(), line);
        None
    }

    /// How many distinct identifiers were seen.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Whether none was seen.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
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
        assert_eq!(seen.len(), 2);
    }
}
