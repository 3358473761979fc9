//! The columnar response matrix: one column of cells per item, so scoring
//! streams through memory and parallelises over blocks of respondents.

use rayon::prelude::*;

use crate::answer::{Cell, MISSING};
use crate::instrument::Instrument;

/// Why cells do not form a matrix for an instrument.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatrixError {
    /// The number of cells is not items x respondents.
    #[error("{cells} cells do not make whole rows of {items} items")]
    Shape {
        /// Cells given.
        cells: usize,
        /// Items of the instrument.
        items: usize,
    },
    /// A cell is not a valid code of its item.
    #[error("respondent {row}, item {item}: cell {cell} is not a valid answer code")]
    InvalidCell {
        /// Respondent index.
        row: usize,
        /// Item id.
        item: String,
        /// The offending cell.
        cell: Cell,
    },
}

/// Encoded answers of many respondents to one instrument, item by item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseMatrix {
    n_items: usize,
    n_rows: usize,
    /// `cells[item * n_rows + row]`.
    cells: Vec<Cell>,
}

impl ResponseMatrix {
    /// A matrix of `n_rows` respondents who answered nothing yet.
    pub fn missing(instrument: &Instrument, n_rows: usize) -> Self {
        let n_items = instrument.items.len();
        Self {
            n_items,
            n_rows,
            cells: vec![MISSING; n_items * n_rows],
        }
    }

    /// Builds a matrix from respondent-major cells (`rows[row * items + item]`),
    /// checking every cell against its item.
    pub fn from_rows(instrument: &Instrument, rows: &[Cell]) -> Result<Self, MatrixError> {
        let n_items = instrument.items.len();
        if n_items == 0 || !rows.len().is_multiple_of(n_items) {
            return Err(MatrixError::Shape {
                cells: rows.len(),
                items: n_items,
            });
        }
        let n_rows = rows.len() / n_items;
        let mut cells = vec![MISSING; rows.len()];
        cells
            .par_chunks_mut(n_rows.max(1))
            .enumerate()
            .for_each(|(item, column)| {
                for (row, cell) in column.iter_mut().enumerate() {
                    *cell = rows[row * n_items + item];
                }
            });
        let matrix = Self {
            n_items,
            n_rows,
            cells,
        };
        matrix.check(instrument)?;
        Ok(matrix)
    }

    /// Builds a matrix from item-major cells (`cells[item * rows + row]`),
    /// checking every cell against its item.
    pub fn from_columns(instrument: &Instrument, cells: Vec<Cell>) -> Result<Self, MatrixError> {
        let n_items = instrument.items.len();
        if n_items == 0 || !cells.len().is_multiple_of(n_items) {
            return Err(MatrixError::Shape {
                cells: cells.len(),
                items: n_items,
            });
        }
        let matrix = Self {
            n_items,
            n_rows: cells.len() / n_items,
            cells,
        };
        matrix.check(instrument)?;
        Ok(matrix)
    }

    fn check(&self, instrument: &Instrument) -> Result<(), MatrixError> {
        instrument
            .items
            .par_iter()
            .enumerate()
            .try_for_each(|(i, item)| {
                let count = item.cell_count();
                match self.column(i).iter().position(|&c| usize::from(c) >= count) {
                    Some(row) => Err(MatrixError::InvalidCell {
                        row,
                        item: item.id.clone(),
                        cell: self.column(i)[row],
                    }),
                    None => Ok(()),
                }
            })
    }

    /// Number of respondents.
    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    /// Number of items.
    pub fn n_items(&self) -> usize {
        self.n_items
    }

    /// All cells of one item, one per respondent.
    pub fn column(&self, item: usize) -> &[Cell] {
        &self.cells[item * self.n_rows..(item + 1) * self.n_rows]
    }

    /// One respondent's cell for one item.
    pub fn get(&self, row: usize, item: usize) -> Cell {
        self.cells[item * self.n_rows + row]
    }

    /// The raw item-major cells.
    pub fn cells(&self) -> &[Cell] {
        &self.cells
    }
}
