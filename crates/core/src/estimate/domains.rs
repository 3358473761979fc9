//! Domains (subpopulations): the cells of a crossing of categorical
//! variables, each row in exactly one, listed in natural label order.

use std::cmp::Ordering;
use std::collections::HashMap;

/// A partition of the rows into domains.
#[derive(Debug, Clone, PartialEq)]
pub struct Domains {
    variables: Vec<String>,
    labels: Vec<Vec<String>>,
    /// Rows of domain d: `rows[start[d]..start[d + 1]]`, in row order.
    start: Vec<usize>,
    rows: Vec<u32>,
}

/// Natural order of labels: numbers in numeric order, then other labels
/// in text order (domains, and strata and PSUs in BRR).
pub(crate) fn natural(a: &str, b: &str) -> Ordering {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        (Err(_), Err(_)) => a.cmp(b),
    }
}

impl Domains {
    /// One domain holding all `n` rows: the whole population.
    pub fn whole(n: usize) -> Self {
        Self {
            variables: Vec::new(),
            labels: vec![Vec::new()],
            start: vec![0, n],
            rows: (0..n)
                .map(|i| u32::try_from(i).unwrap_or(u32::MAX))
                .collect(),
        }
    }

    /// The crossing of `columns` (one label per row each), named `variables`.
    pub fn crossing<S: AsRef<str>>(variables: &[String], columns: &[&[S]]) -> Self {
        let n = columns.first().map_or(0, |c| c.len());
        let mut index: HashMap<Vec<&str>, u32> = HashMap::new();
        let mut keys: Vec<Vec<&str>> = Vec::new();
        let row_key: Vec<u32> = (0..n)
            .map(|row| {
                let key: Vec<&str> = columns.iter().map(|c| c[row].as_ref()).collect();
                *index.entry(key.clone()).or_insert_with(|| {
                    keys.push(key);
                    u32::try_from(keys.len() - 1).unwrap_or(u32::MAX)
                })
            })
            .collect();
        let mut order: Vec<usize> = (0..keys.len()).collect();
        order.sort_by(|&a, &b| {
            keys[a]
                .iter()
                .zip(&keys[b])
                .map(|(x, y)| natural(x, y))
                .find(|o| *o != Ordering::Equal)
                .unwrap_or(Ordering::Equal)
        });
        let mut rank = vec![0usize; keys.len()];
        for (r, &k) in order.iter().enumerate() {
            rank[k] = r;
        }
        let mut start = vec![0usize; keys.len() + 1];
        for &k in &row_key {
            start[rank[k as usize] + 1] += 1;
        }
        for d in 0..keys.len() {
            start[d + 1] += start[d];
        }
        let mut next = start.clone();
        let mut rows = vec![0u32; n];
        for (row, &k) in row_key.iter().enumerate() {
            let d = rank[k as usize];
            rows[next[d]] = u32::try_from(row).unwrap_or(u32::MAX);
            next[d] += 1;
        }
        Self {
            variables: variables.to_vec(),
            labels: order
                .iter()
                .map(|&k| keys[k].iter().map(|s| (*s).to_owned()).collect())
                .collect(),
            start,
            rows,
        }
    }

    /// Number of domains.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no domains.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The crossed variables.
    pub fn variables(&self) -> &[String] {
        &self.variables
    }

    /// Labels of domain `d`, one per variable.
    pub fn labels(&self, d: usize) -> &[String] {
        &self.labels[d]
    }

    /// Rows of domain `d`, in row order.
    pub fn rows(&self, d: usize) -> &[u32] {
        &self.rows[self.start[d]..self.start[d + 1]]
    }

    /// Index of the domain with these labels.
    pub fn find(&self, labels: &[&str]) -> Option<usize> {
        self.labels
            .iter()
            .position(|l| l.iter().map(String::as_str).eq(labels.iter().copied()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crossing_in_natural_order() {
        let a = ["2", "10", "2", "1"];
        let b = ["x", "y", "y", "x"];
        let d = Domains::crossing(&["a".into(), "b".into()], &[&a[..], &b[..]]);
        let labels: Vec<Vec<String>> = (0..d.len()).map(|i| d.labels(i).to_vec()).collect();
        assert_eq!(labels, [["1", "x"], ["2", "x"], ["2", "y"], ["10", "y"]]);
        assert_eq!(d.rows(1), [0]);
        assert_eq!(d.rows(2), [2]);
        assert_eq!(d.find(&["10", "y"]), Some(3));
        assert_eq!(Domains::whole(3).rows(0), [0, 1, 2]);
    }
}
