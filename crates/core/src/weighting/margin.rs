//! A calibration margin: one categorical variable of the sample with the
//! population total of each category. A crossing (for post-stratification)
//! is a single margin whose categories are the cells of the crossing.

use std::collections::{HashMap, HashSet};

use super::WeightingError;

/// A categorical variable with one code per sampled row and a population
/// total per category. It exists only if it validated: every code is an
/// index into `categories`, every total is finite and >= 0, labels are
/// unique, and every category with a positive total has at least one row.
#[derive(Debug, Clone, PartialEq)]
pub struct Margin {
    variable: String,
    categories: Vec<String>,
    codes: Vec<u32>,
    totals: Vec<f64>,
}

impl Margin {
    /// Builds a margin from category labels, one code per row (an index into
    /// `categories`) and the population total of each category.
    pub fn new(
        variable: impl Into<String>,
        categories: Vec<String>,
        codes: Vec<u32>,
        totals: Vec<f64>,
    ) -> Result<Self, WeightingError> {
        let variable = variable.into();
        if categories.len() != totals.len() {
            return Err(WeightingError::CategoryCount {
                variable,
                categories: categories.len(),
                totals: totals.len(),
            });
        }
        let mut seen = HashSet::with_capacity(categories.len());
        for label in &categories {
            if !seen.insert(label.as_str()) {
                return Err(WeightingError::DuplicateCategory {
                    variable,
                    category: label.clone(),
                });
            }
        }
        for (label, &total) in categories.iter().zip(&totals) {
            if !(total.is_finite() && total >= 0.0) {
                return Err(WeightingError::BadTotal {
                    variable,
                    category: label.clone(),
                    total,
                });
            }
        }
        let mut rows_per_category = vec![0usize; categories.len()];
        for (row, &code) in codes.iter().enumerate() {
            match rows_per_category.get_mut(code as usize) {
                Some(count) => *count += 1,
                None => {
                    return Err(WeightingError::CodeOutOfRange {
                        variable,
                        row,
                        code,
                        categories: categories.len(),
                    });
                }
            }
        }
        if let Some(c) =
            (0..categories.len()).find(|&c| totals[c] > 0.0 && rows_per_category[c] == 0)
        {
            return Err(WeightingError::EmptyCategory {
                variable,
                category: categories[c].clone(),
            });
        }
        Ok(Self {
            variable,
            categories,
            codes,
            totals,
        })
    }

    /// Builds a margin from each row's label and a population table
    /// `(label, total)`; the categories are the table's labels in its order.
    /// A row whose label is not in the table is an error naming the row.
    pub fn from_labels<R, P>(
        variable: impl Into<String>,
        row_labels: &[R],
        population: &[(P, f64)],
    ) -> Result<Self, WeightingError>
    where
        R: AsRef<str>,
        P: AsRef<str>,
    {
        let variable = variable.into();
        let categories: Vec<String> = population
            .iter()
            .map(|(label, _)| label.as_ref().to_string())
            .collect();
        let totals: Vec<f64> = population.iter().map(|(_, total)| *total).collect();
        let index: HashMap<&str, u32> = categories
            .iter()
            .enumerate()
            .map(|(c, label)| (label.as_str(), c as u32))
            .collect();
        if index.len() != categories.len() {
            // a duplicate label: `new` names the first one
            return Self::new(variable, categories, Vec::new(), totals);
        }
        let codes = row_labels
            .iter()
            .enumerate()
            .map(|(row, label)| {
                index
                    .get(label.as_ref())
                    .copied()
                    .ok_or_else(|| WeightingError::UnknownLabel {
                        variable: variable.clone(),
                        row,
                        label: label.as_ref().to_string(),
                    })
            })
            .collect::<Result<Vec<u32>, _>>()?;
        Self::new(variable, categories, codes, totals)
    }

    /// Name of the variable (used in error messages).
    pub fn variable(&self) -> &str {
        &self.variable
    }

    /// Category labels; a row's code indexes this list.
    pub fn categories(&self) -> &[String] {
        &self.categories
    }

    /// One code per sampled row.
    pub fn codes(&self) -> &[u32] {
        &self.codes
    }

    /// Population total per category.
    pub fn totals(&self) -> &[f64] {
        &self.totals
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    /// Whether the margin has no rows.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// Sum of the population totals.
    pub fn grand_total(&self) -> f64 {
        self.totals.iter().sum()
    }

    /// Checks that the margin has one code per weight.
    pub(crate) fn check_rows(&self, n_weights: usize) -> Result<(), WeightingError> {
        super::check_len(
            &format!("codes of margin {}", self.variable),
            n_weights,
            self.codes.len(),
        )
    }
}
