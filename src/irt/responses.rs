//! Reading a response file: `respondent_id`, one column per item holding
//! a category code (0 or 1 for a right/wrong item, `0..K-1` for a partial
//! credit item) or nothing (missing), optionally a weight column and a
//! group column; every problem named by line, column, value and reason.

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;

use anyhow::{Context, bail};
use literacy_core::irt::CategoryResponses;
use literacy_table::{FirstSeen, Options, Record};

/// Column that identifies a respondent.
pub const RESPONDENT_ID: &str = "respondent_id";

/// Problems listed before the rest are only counted.
const MAX_LISTED: usize = 20;

/// Largest category code (255 is the core's missing).
const MAX_CODE: u8 = 254;

/// Which columns are items.
pub enum ItemColumns<'a> {
    /// Every column but `respondent_id`, the weight and the group.
    AllOthers,
    /// Exactly these, in this order.
    Named(&'a [String]),
}

/// What to read besides the respondent ids.
pub struct Request<'a> {
    /// The item columns.
    pub items: ItemColumns<'a>,
    /// The categories each item's answers may take: `Some(K)` for codes
    /// `0..K`, `None` for any code `0..=254` (`K` is then the largest code
    /// answered plus one).
    pub categories: &'a dyn Fn(&str) -> Option<usize>,
    /// The weight column.
    pub weight: Option<&'a str>,
    /// The group column.
    pub group: Option<&'a str>,
}

/// The groups of a response file, the reference first.
pub struct GroupColumn {
    /// The labels, in group order: the reference, then the others sorted.
    pub labels: Vec<String>,
    /// Each respondent's group.
    pub of: Vec<usize>,
}

impl GroupColumn {
    /// Orders the groups of `raw` (one label per respondent): `reference`
    /// first (default: the first label in sorted order), then the others
    /// in sorted order.
    pub fn new(column: &str, raw: &[String], reference: Option<&str>) -> anyhow::Result<Self> {
        let sorted: BTreeSet<&str> = raw.iter().map(String::as_str).collect();
        let first = match reference {
            Some(r) if !sorted.contains(r) => bail!(
                "--reference-group {r:?} is not a value of the group column {column:?} \
                 (values: {})",
                sorted.iter().copied().collect::<Vec<_>>().join(", ")
            ),
            Some(r) => r,
            None => sorted.first().copied().unwrap_or_default(),
        };
        let mut labels = vec![first.to_owned()];
        labels.extend(
            sorted
                .iter()
                .filter(|l| **l != first)
                .map(|l| (*l).to_owned()),
        );
        let of = raw
            .iter()
            .map(|l| labels.iter().position(|x| x == l).unwrap_or(0))
            .collect();
        Ok(Self { labels, of })
    }
}

/// A response file read into the core's matrix.
pub struct ResponseFile {
    /// Respondent ids, in file order.
    pub ids: Vec<String>,
    /// Item columns, in matrix order.
    pub items: Vec<String>,
    /// The responses.
    pub responses: CategoryResponses,
    /// The weights, when a weight column was named.
    pub weights: Option<Vec<f64>>,
    /// Each respondent's group label, when a group column was named.
    pub groups: Option<Vec<String>>,
}

/// One problem with one cell.
struct Problem {
    line: u64,
    column: String,
    value: String,
    reason: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}, value {:?}: {}",
            self.line,
            self.column,
            literacy_table::shorten(&self.value, 80),
            self.reason
        )
    }
}

/// A cell's category code, or why it is not one.
fn code(written: &str, categories: Option<usize>) -> Result<u8, String> {
    let limit = categories.map_or(MAX_CODE, |k| u8::try_from(k - 1).unwrap_or(MAX_CODE));
    // The common case, one digit, without the general path's passes.
    if let &[digit @ b'0'..=b'9'] = written.as_bytes()
        && digit - b'0' <= limit
    {
        return Ok(digit - b'0');
    }
    let normal = literacy_core::text::normalize(written);
    let text = normal.trim();
    if text.is_empty() {
        return Ok(CategoryResponses::MISSING);
    }
    let parsed = (text.len() <= 3 && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse::<u16>().ok())
        .flatten()
        .filter(|&x| x <= u16::from(limit));
    match (parsed, categories) {
        (Some(x), _) => Ok(x as u8),
        (None, Some(2)) => Err("not 0, 1 or empty (missing)".into()),
        (None, Some(k)) => Err(format!("not a category 0 to {} or empty (missing)", k - 1)),
        (None, None) => Err(format!(
            "not a category code 0 to {MAX_CODE} or empty (missing)"
        )),
    }
}

/// The columns of a response file that a [`Request`] names.
struct Columns {
    id: usize,
    weight: Option<usize>,
    group: Option<usize>,
    items: Vec<usize>,
    /// Each item's categories, as the request fixes them.
    categories: Vec<Option<usize>>,
}

/// Finds the requested columns in the header (errors name the file, the
/// header line and the columns there are).
fn columns(name: &str, headers: &[String], request: &Request<'_>) -> anyhow::Result<Columns> {
    let find = |column: &str, what: &str| -> anyhow::Result<usize> {
        headers.iter().position(|h| h == column).with_context(|| {
            format!(
                "{name}: line 1 (header): no {what} column {column:?} (columns: {})",
                headers.join(", ")
            )
        })
    };
    let id = find(RESPONDENT_ID, "respondent id")?;
    let weight = request.weight.map(|w| find(w, "weight")).transpose()?;
    let group = request.group.map(|g| find(g, "group")).transpose()?;
    if weight.is_some() && weight == group {
        bail!("the weight and the group cannot be the same column");
    }
    let items: Vec<usize> = match request.items {
        ItemColumns::AllOthers => (0..headers.len())
            .filter(|&k| k != id && Some(k) != weight && Some(k) != group)
            .collect(),
        ItemColumns::Named(names) => {
            let mut cols = Vec::with_capacity(names.len());
            for (k, item) in names.iter().enumerate() {
                if names[..k].contains(item) {
                    bail!("item {item:?} is named twice");
                }
                let taken = [Some(RESPONDENT_ID), request.weight, request.group];
                if taken.contains(&Some(item.as_str())) {
                    bail!(
                        "{item:?} cannot be an item: it is the respondent id, the weight or \
                         the group"
                    );
                }
                cols.push(find(item, "item")?);
            }
            cols
        }
    };
    if items.is_empty() {
        bail!("{name}: no item columns");
    }
    let categories = items
        .iter()
        .map(|&k| (request.categories)(&headers[k]))
        .collect();
    Ok(Columns {
        id,
        weight,
        group,
        items,
        categories,
    })
}

/// Reads `path` (CSV or a spreadsheet's sheet); fails listing every
/// problem (the first 20, then a count).
pub fn read(path: &Path, request: &Request<'_>, options: &Options) -> anyhow::Result<ResponseFile> {
    let name = path.display().to_string();
    let (mut reader, header) = crate::reading::open(path, options)?;
    let headers = header.names().to_vec();
    let cols = columns(&name, &headers, request)?;
    let mut rows = Rows::new(&cols);
    let mut record = Record::default();
    while reader
        .read(&mut record)
        .with_context(|| format!("{name}: cannot read"))?
    {
        match record.placed_problem(&header) {
            Some(placed) => rows.note(Problem {
                line: record.line(),
                column: placed.column.to_owned(),
                value: placed.value.to_owned(),
                reason: placed.problem.to_string(),
            }),
            None => rows.push(&record, &cols, &headers),
        }
    }
    rows.finish(&name, &cols, &headers)
}

/// The rows read so far and the problems found.
struct Rows {
    ids: Vec<String>,
    cells: Vec<u8>,
    weights: Option<Vec<f64>>,
    groups: Option<Vec<String>>,
    seen: FirstSeen,
    problems: Vec<Problem>,
    n_problems: usize,
}

impl Rows {
    fn new(cols: &Columns) -> Self {
        Self {
            ids: Vec::new(),
            cells: Vec::new(),
            weights: cols.weight.map(|_| Vec::new()),
            groups: cols.group.map(|_| Vec::new()),
            seen: FirstSeen::default(),
            problems: Vec::new(),
            n_problems: 0,
        }
    }

    fn note(&mut self, p: Problem) {
        self.n_problems += 1;
        if self.problems.len() < MAX_LISTED {
            self.problems.push(p);
        }
    }

    /// Reads one record's id, answers, weight and group.
    fn push(&mut self, record: &Record, cols: &Columns, headers: &[String]) {
        let line = record.line();
        let text = |k: usize| record.get(k).unwrap_or_default().to_owned();
        let problem = |k: usize, reason: String| Problem {
            line,
            column: headers[k].clone(),
            value: text(k),
            reason,
        };
        let id = record.get(cols.id).unwrap_or_default().trim().to_owned();
        if id.is_empty() {
            self.note(problem(cols.id, "a respondent id is required".into()));
        } else if let Some(first) = self.seen.first_line(&id, line) {
            let reason = format!("duplicate respondent_id (first on line {first})");
            self.note(problem(cols.id, reason));
        }
        self.ids.push(id);
        for (&k, &categories) in cols.items.iter().zip(&cols.categories) {
            let cell = code(record.get(k).unwrap_or_default(), categories);
            let cell = cell.unwrap_or_else(|reason| {
                self.note(problem(k, reason));
                CategoryResponses::MISSING
            });
            self.cells.push(cell);
        }
        if let Some(k) = cols.weight {
            let value = text(k);
            let weight = match value.trim().parse::<f64>() {
                Ok(x) if x.is_finite() && x >= 0.0 => x,
                _ => {
                    self.note(problem(k, "a weight is a finite number >= 0".into()));
                    0.0
                }
            };
            self.weights.get_or_insert_default().push(weight);
        }
        if let Some(k) = cols.group {
            let label = literacy_core::text::normalize(&text(k)).trim().to_owned();
            if label.is_empty() {
                self.note(problem(k, "a group is required".into()));
            }
            self.groups.get_or_insert_default().push(label);
        }
    }

    /// The file, or every problem found.
    fn finish(
        mut self,
        name: &str,
        cols: &Columns,
        headers: &[String],
    ) -> anyhow::Result<ResponseFile> {
        if self.n_problems > 0 {
            let mut message = format!("{name}: {} problem(s)", self.n_problems);
            for p in &self.problems {
                message.push_str(&format!("\n  {p}"));
            }
            if self.n_problems > self.problems.len() {
                let more = self.n_problems - self.problems.len();
                message.push_str(&format!("\n  ... and {more} more"));
            }
            bail!(message);
        }
        if self.ids.is_empty() {
            bail!("{name}: has no rows");
        }
        let items: Vec<String> = cols.items.iter().map(|&k| headers[k].clone()).collect();
        let n_items = items.len();
        let mut categories = Vec::with_capacity(n_items);
        for (j, fixed) in cols.categories.iter().enumerate() {
            let largest = self
                .cells
                .iter()
                .skip(j)
                .step_by(n_items)
                .filter(|&&x| x != CategoryResponses::MISSING)
                .max();
            categories.push(match (fixed, largest) {
                (Some(k), _) => *k,
                (None, Some(&x)) if x > 0 => usize::from(x) + 1,
                (None, _) => bail!(
                    "{name}: item {:?} has no answer above category 0, so it has no \
                     categories to calibrate (leave it out with --items)",
                    items[j]
                ),
            });
        }
        let responses = CategoryResponses::new(categories, std::mem::take(&mut self.cells))
            .with_context(|| name.to_owned())?;
        Ok(ResponseFile {
            ids: self.ids,
            items,
            responses,
            weights: self.weights,
            groups: self.groups,
        })
    }
}
