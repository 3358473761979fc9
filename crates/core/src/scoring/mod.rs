//! Scoring: from a response matrix to dimension scores, the 0-100 total,
//! band and qualified flag of every respondent, in parallel and
//! deterministically (each respondent's sums run in a fixed order, whatever
//! the number of threads).

use rayon::prelude::*;
use serde::Serialize;

use crate::answer::MISSING;
use crate::instrument::Instrument;
use crate::matrix::ResponseMatrix;
use crate::rule::RuleKind;

/// Respondents scored together in one block: the block's accumulators stay
/// in cache while every item column streams through.
const BLOCK: usize = 2048;

/// Why a matrix cannot be scored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScoreError {
    /// The matrix was built for an instrument with another number of items.
    #[error("the response matrix has {matrix} items but the instrument {items}")]
    ItemCount {
        /// Items in the matrix.
        matrix: usize,
        /// Items in the instrument.
        items: usize,
    },
    /// The rule is `irt_cut` and no thetas were given.
    #[error("the instrument's irt_cut rule needs an ability theta for every respondent")]
    ThetaRequired,
    /// Thetas were given but not one per respondent.
    #[error("{thetas} thetas were given for {rows} respondents")]
    ThetaCount {
        /// Thetas given.
        thetas: usize,
        /// Respondents in the matrix.
        rows: usize,
    },
}

/// Whether a respondent could be scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Scored and classified.
    Scored,
    /// More missing answers than the rule allows: no score, no flag.
    TooManyMissing,
    /// The rule needs a theta and the respondent has none: scores, no flag.
    NoTheta,
}

impl Status {
    /// Name written in outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Scored => "scored",
            Status::TooManyMissing => "too_many_missing",
            Status::NoTheta => "no_theta",
        }
    }
}

/// One respondent's result, packed into 16 bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Row {
    total: f64,
    missing: u32,
    status: Status,
    /// Band index, or [`NO_BAND`].
    band: u8,
    /// 0 not qualified, 1 qualified, [`NOT_CLASSIFIED`].
    qualified: u8,
}

const NO_BAND: u8 = u8::MAX;
const NOT_CLASSIFIED: u8 = u8::MAX;

const EMPTY_ROW: Row = Row {
    total: 0.0,
    missing: 0,
    status: Status::Scored,
    band: NO_BAND,
    qualified: NOT_CLASSIFIED,
};

/// One respondent's result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RespondentScore<'a> {
    /// Score of each dimension on its own points (e.g. 0-40), if scorable.
    pub dimensions: Option<&'a [f64]>,
    /// Weighted 0-100 total, if scorable.
    pub total: Option<f64>,
    /// Index of the band in the rule, if scorable and the rule has bands.
    pub band: Option<usize>,
    /// Qualified flag, if classified.
    pub qualified: Option<bool>,
    /// Number of missing answers (don't know is not missing).
    pub missing: u32,
    /// Whether the respondent could be scored.
    pub status: Status,
}

/// Counts over all respondents scored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Respondents.
    pub respondents: usize,
    /// Respondents scored and classified.
    pub scored: usize,
    /// Excluded for too many missing answers.
    pub too_many_missing: usize,
    /// Excluded for want of a theta.
    pub no_theta: usize,
    /// Classified as qualified.
    pub qualified: usize,
}

/// Scores of every respondent of a matrix.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Scores {
    n_dims: usize,
    /// Respondent-major: `dimensions[row * n_dims + d]`.
    dimensions: Vec<f64>,
    rows: Vec<Row>,
}

impl Scores {
    /// Number of respondents.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are no respondents.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Result of respondent `row`.
    pub fn get(&self, row: usize) -> RespondentScore<'_> {
        let r = self.rows[row];
        let scorable = r.status != Status::TooManyMissing;
        RespondentScore {
            dimensions: scorable
                .then(|| &self.dimensions[row * self.n_dims..(row + 1) * self.n_dims]),
            total: scorable.then_some(r.total),
            band: (r.band != NO_BAND).then_some(usize::from(r.band)),
            qualified: match r.qualified {
                NOT_CLASSIFIED => None,
                q => Some(q == 1),
            },
            missing: r.missing,
            status: r.status,
        }
    }

    /// Counts of scored, excluded and qualified respondents.
    pub fn summary(&self) -> Summary {
        let mut s = Summary {
            respondents: self.rows.len(),
            ..Summary::default()
        };
        for r in &self.rows {
            match r.status {
                Status::Scored => s.scored += 1,
                Status::TooManyMissing => s.too_many_missing += 1,
                Status::NoTheta => s.no_theta += 1,
            }
            s.qualified += usize::from(r.qualified == 1);
        }
        s
    }
}

/// Scores every respondent. `thetas` (one per respondent, NaN for none) is
/// needed by the `irt_cut` rule and ignored by the others.
pub fn score(
    instrument: &Instrument,
    matrix: &ResponseMatrix,
    thetas: Option<&[f64]>,
) -> Result<Scores, ScoreError> {
    let mut scores = Scores::default();
    score_into(instrument, matrix, thetas, &mut scores)?;
    Ok(scores)
}

/// As [`score`], reusing the buffers of `scores` (for scoring block after
/// block without allocating each time).
pub fn score_into(
    instrument: &Instrument,
    matrix: &ResponseMatrix,
    thetas: Option<&[f64]>,
    scores: &mut Scores,
) -> Result<(), ScoreError> {
    let n_items = instrument.items.len();
    if matrix.n_items() != n_items {
        return Err(ScoreError::ItemCount {
            matrix: matrix.n_items(),
            items: n_items,
        });
    }
    let n = matrix.n_rows();
    let rule = &instrument.rule;
    match thetas {
        None if rule.needs_theta() => return Err(ScoreError::ThetaRequired),
        Some(t) if t.len() != n => {
            return Err(ScoreError::ThetaCount {
                thetas: t.len(),
                rows: n,
            });
        }
        _ => {}
    }
    let tables: Vec<Vec<f64>> = instrument.items.iter().map(|i| i.score_table()).collect();
    let raw_max = instrument.raw_max();
    let points: Vec<f64> = instrument.dimensions.iter().map(|d| d.points).collect();
    let total_points: f64 = points.iter().sum();
    let n_dims = points.len();
    let needs_shares = matches!(rule.kind, RuleKind::AllDimensions { .. });
    let groups: Vec<Vec<usize>> = (0..n_dims)
        .map(|d| {
            (0..n_items)
                .filter(|&i| instrument.items[i].dimension_index == d)
                .collect()
        })
        .collect();

    // Every element is overwritten below: resize only when the size changes.
    scores.n_dims = n_dims;
    if scores.dimensions.len() != n * n_dims {
        scores.dimensions.clear();
        scores.dimensions.resize(n * n_dims, 0.0);
    }
    if scores.rows.len() != n {
        scores.rows.clear();
        scores.rows.resize(n, EMPTY_ROW);
    }
    scores
        .dimensions
        .par_chunks_mut(BLOCK * n_dims)
        .zip(scores.rows.par_chunks_mut(BLOCK))
        .enumerate()
        .for_each(|(block, (dims_out, rows_out))| {
            let start = block * BLOCK;
            let len = rows_out.len();
            // Raw points, dimension-major; then, in place, shares of the maximum.
            let mut shares = vec![0.0f64; n_dims * len];
            let mut missing = vec![0u32; len];
            for (d, group) in groups.iter().enumerate() {
                let acc = &mut shares[d * len..(d + 1) * len];
                // Four items per pass: fewer read-modify-writes of the
                // accumulators, more independent look-ups in flight.
                for quad in group.chunks(4) {
                    let col = |k: usize| &matrix.column(quad[k])[start..start + len];
                    let tab = |k: usize| tables[quad[k]].as_slice();
                    let look = |t: &[f64], c: u16| t.get(usize::from(c)).copied().unwrap_or(0.0);
                    match quad.len() {
                        4 => {
                            let (c0, c1, c2, c3) = (col(0), col(1), col(2), col(3));
                            let (t0, t1, t2, t3) = (tab(0), tab(1), tab(2), tab(3));
                            for (r, a) in acc.iter_mut().enumerate() {
                                *a += (look(t0, c0[r]) + look(t1, c1[r]))
                                    + (look(t2, c2[r]) + look(t3, c3[r]));
                            }
                        }
                        _ => {
                            for &item in quad {
                                let (c, t) = (
                                    &matrix.column(item)[start..start + len],
                                    tables[item].as_slice(),
                                );
                                for (a, &cell) in acc.iter_mut().zip(c) {
                                    *a += look(t, cell);
                                }
                            }
                        }
                    }
                }
            }
            for item in 0..n_items {
                let column = &matrix.column(item)[start..start + len];
                // A separate pass, so the compiler can vectorise it.
                for (m, &cell) in missing.iter_mut().zip(column) {
                    *m += u32::from(cell == MISSING);
                }
            }
            // Column passes over the block (they vectorise), then one short
            // scalar pass per respondent for the rule.
            for (d, column) in shares.chunks_mut(len).enumerate() {
                for x in column.iter_mut() {
                    *x /= raw_max[d];
                }
            }
            let mut totals = vec![0.0; len];
            for (d, column) in shares.chunks(len).enumerate() {
                for (t, &share) in totals.iter_mut().zip(column) {
                    *t += share * points[d];
                }
                for (r, &share) in column.iter().enumerate() {
                    dims_out[r * n_dims + d] = share * points[d];
                }
            }
            let mut row_shares = vec![0.0; n_dims];
            for (r, row) in rows_out.iter_mut().enumerate() {
                let total = 100.0 * totals[r] / total_points;
                *row = Row {
                    total,
                    missing: missing[r],
                    ..EMPTY_ROW
                };
                if !rule.missing.scorable(missing[r]) {
                    row.status = Status::TooManyMissing;
                    continue;
                }
                row.band = rule
                    .band(total)
                    .and_then(|b| u8::try_from(b).ok())
                    .unwrap_or(NO_BAND);
                if needs_shares {
                    for (d, s) in row_shares.iter_mut().enumerate() {
                        *s = shares[d * len + r];
                    }
                }
                let theta = thetas.map(|t| t[start + r]);
                match rule.qualifies(&row_shares, total, theta) {
                    Some(q) => row.qualified = u8::from(q),
                    None => row.status = Status::NoTheta,
                }
            }
        });
    Ok(())
}
