//! Scoring: from a response matrix to dimension scores, the 0-100 total,
//! band and qualified flag of every respondent, in parallel and
//! deterministically (each respondent's sums run in item order).

use rayon::prelude::*;
use serde::Serialize;

use crate::answer::MISSING;
use crate::instrument::Instrument;
use crate::matrix::ResponseMatrix;

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

#[derive(Debug, Clone, Copy, PartialEq)]
struct Row {
    total: f64,
    missing: u32,
    status: Status,
    band: Option<u16>,
    qualified: Option<bool>,
}

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
#[derive(Debug, Clone, PartialEq)]
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
            band: r.band.map(usize::from),
            qualified: r.qualified,
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
            s.qualified += usize::from(r.qualified == Some(true));
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
    let item_dims: Vec<usize> = instrument
        .items
        .iter()
        .map(|i| i.dimension_index)
        .collect();
    let raw_max = instrument.raw_max();
    let points: Vec<f64> = instrument.dimensions.iter().map(|d| d.points).collect();
    let total_points: f64 = points.iter().sum();
    let n_dims = points.len();

    let mut dimensions = vec![0.0; n * n_dims];
    let mut rows = vec![
        Row {
            total: 0.0,
            missing: 0,
            status: Status::Scored,
            band: None,
            qualified: None,
        };
        n
    ];
    dimensions
        .par_chunks_mut(BLOCK * n_dims)
        .zip(rows.par_chunks_mut(BLOCK))
        .enumerate()
        .for_each(|(block, (dims_out, rows_out))| {
            let start = block * BLOCK;
            let len = rows_out.len();
            let mut raw = vec![0.0f64; n_dims * len];
            let mut missing = vec![0u32; len];
            for (item, table) in tables.iter().enumerate() {
                let column = &matrix.column(item)[start..start + len];
                let acc = &mut raw[item_dims[item] * len..(item_dims[item] + 1) * len];
                for ((a, m), &cell) in acc.iter_mut().zip(missing.iter_mut()).zip(column) {
                    *a += table.get(usize::from(cell)).copied().unwrap_or(0.0);
                    *m += u32::from(cell == MISSING);
                }
            }
            let mut shares = vec![0.0; n_dims];
            for (r, row) in rows_out.iter_mut().enumerate() {
                let mut weighted = 0.0;
                for d in 0..n_dims {
                    let share = raw[d * len + r] / raw_max[d];
                    shares[d] = share;
                    dims_out[r * n_dims + d] = share * points[d];
                    weighted += share * points[d];
                }
                let total = 100.0 * weighted / total_points;
                row.total = total;
                row.missing = missing[r];
                if !rule.missing.scorable(missing[r]) {
                    row.status = Status::TooManyMissing;
                    continue;
                }
                row.band = rule.band(total).and_then(|b| u16::try_from(b).ok());
                let theta = thetas.map(|t| t[start + r]);
                row.qualified = rule.qualifies(&shares, total, theta);
                if row.qualified.is_none() {
                    row.status = Status::NoTheta;
                }
            }
        });
    Ok(Scores {
        n_dims,
        dimensions,
        rows,
    })
}
