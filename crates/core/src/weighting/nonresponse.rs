//! Nonresponse adjustment within weighting cells.

use std::collections::BTreeMap;

use super::{WeightReport, WeightingError, check_len, check_weights, summarize};

/// Per-cell accumulators: sampled units, respondents, their weight sums.
#[derive(Default)]
struct Cell {
    sampled: usize,
    respondents: usize,
    sampled_weight: f64,
    respondent_weight: f64,
}

/// Weighting-class nonresponse adjustment.
///
/// Within each cell `c`, every respondent's weight is multiplied by
/// `sum_{i in c} w_i / sum_{i in c, responded} w_i` (the weight of all sampled
/// units over the weight of the respondents); nonrespondents get weight 0.
/// The total weight of each cell is preserved. A cell whose sampled weights
/// are all 0 is left at 0.
///
/// Errors: inputs of different lengths, a weight negative or not finite, a
/// cell with sampled units but no respondent ([`WeightingError::NoRespondents`]),
/// a cell whose respondents weigh 0 while its sampled units do not.
pub fn nonresponse_adjust(
    weights: &[f64],
    responded: &[bool],
    cells: &[u32],
) -> Result<(Vec<f64>, WeightReport), WeightingError> {
    check_len("responded", weights.len(), responded.len())?;
    check_len("cells", weights.len(), cells.len())?;
    check_weights(weights)?;
    let mut by_cell: BTreeMap<u32, Cell> = BTreeMap::new();
    for ((&w, &r), &c) in weights.iter().zip(responded).zip(cells) {
        let cell = by_cell.entry(c).or_default();
        cell.sampled += 1;
        cell.sampled_weight += w;
        if r {
            cell.respondents += 1;
            cell.respondent_weight += w;
        }
    }
    let mut factors = BTreeMap::new();
    for (&id, cell) in &by_cell {
        let factor = if cell.respondents == 0 {
            return Err(WeightingError::NoRespondents {
                cell: id,
                sampled: cell.sampled,
            });
        } else if cell.sampled_weight == 0.0 {
            1.0
        } else if cell.respondent_weight == 0.0 {
            return Err(WeightingError::ZeroRespondentWeight {
                cell: id,
                sampled_weight: cell.sampled_weight,
            });
        } else {
            cell.sampled_weight / cell.respondent_weight
        };
        factors.insert(id, factor);
    }
    let adjusted: Vec<f64> = weights
        .iter()
        .zip(responded)
        .zip(cells)
        .map(|((&w, &r), c)| if r { w * factors[c] } else { 0.0 })
        .collect();
    let report = summarize("nonresponse", &adjusted, 1, true);
    Ok((adjusted, report))
}
