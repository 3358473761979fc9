//! The `--item-models` file of `literacy irt calibrate --model mixed`: CSV
//! (or a spreadsheet) with the columns `item,model`, one row per item
//! column of the response file, the model one of `rasch`, `2pl`, `3pl`,
//! `pcm`, `gpcm`.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, bail};
use literacy_table::{Options, Record};

use super::params::ModelName;

/// Each item's model, by item column.
pub struct ItemModels {
    by_item: HashMap<String, ModelName>,
    /// The items in file order.
    pub order: Vec<String>,
}

impl ItemModels {
    /// Reads and checks the file: every row an item named once and a model.
    pub fn read(path: &Path, options: &Options) -> anyhow::Result<Self> {
        let name = path.display().to_string();
        let cannot = || format!("{name}: cannot read");
        let (mut reader, header) = crate::reading::open(path, options)?;
        let find = |column: &str| {
            header.position(column).with_context(|| {
                format!(
                    "{name}: line 1 (header): no column {column:?} (an item-models file has \
                     the columns item,model)"
                )
            })
        };
        let (item_col, model_col) = (find("item")?, find("model")?);
        let mut by_item = HashMap::new();
        let mut order = Vec::new();
        let mut first_line = HashMap::new();
        let mut record = Record::default();
        while reader.read(&mut record).with_context(cannot)? {
            let line = record.line();
            if let Some(p) = record.placed_problem(&header) {
                bail!("{name}: line {line}, column {}: {}", p.column, p.problem);
            }
            let cell = |k: usize| literacy_core::text::normalize(record.get(k).unwrap_or_default());
            let item = cell(item_col).trim().to_owned();
            let model = cell(model_col).trim().to_owned();
            if item.is_empty() {
                bail!("{name}: line {line}, column item: an item column name is required");
            }
            let Some(kind) = ModelName::parse_item(&model) else {
                bail!(
                    "{name}: line {line}, column model, value {model:?}: not an item model \
                     (rasch, 2pl, 3pl, pcm or gpcm)"
                );
            };
            if kind == ModelName::OnePl {
                bail!(
                    "{name}: line {line}, column model, value \"1pl\": the 1PL's slope is \
                     common to all items; use --model 1pl, or rasch items here"
                );
            }
            if let Some(first) = first_line.insert(item.clone(), line) {
                bail!(
                    "{name}: line {line}, column item, value {item:?}: listed twice (first on \
                     line {first})"
                );
            }
            by_item.insert(item.clone(), kind);
            order.push(item);
        }
        if order.is_empty() {
            bail!("{name}: lists no items");
        }
        Ok(Self { by_item, order })
    }

    /// The model of item column `item`.
    pub fn get(&self, item: &str) -> Option<ModelName> {
        self.by_item.get(item).copied()
    }

    /// Checks that every calibrated item has a model in the file.
    pub fn check_covers(&self, path: &Path, items: &[String]) -> anyhow::Result<()> {
        let name = path.display();
        let missing: Vec<&str> = items
            .iter()
            .filter(|i| !self.by_item.contains_key(*i))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            bail!(
                "{name} gives no model for the item column(s) {} (list every item, or choose \
                 the items with --items)",
                missing.join(", ")
            );
        }
        Ok(())
    }
}
