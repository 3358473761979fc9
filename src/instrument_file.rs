//! The national instruments and reference files, built into the binary so
//! every command works from any folder, and reading an instrument from
//! `surveys/<id>/instrument.json` (or a file) when a path is given.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use literacy_core::Instrument;

/// File name of an instrument inside its directory.
pub const FILE_NAME: &str = "instrument.json";

/// The current national instrument (`surveys/csl-2026`), built in.
pub const CSL_2026: &str = include_str!("../surveys/csl-2026/instrument.json");

/// The national instruments built in, by id: `surveys/<id>/instrument.json`.
pub const BUILT_IN: [(&str, &str); 2] = [
    ("csl-2026", CSL_2026),
    (
        "csl-legacy",
        include_str!("../surveys/csl-legacy/instrument.json"),
    ),
];

/// The instrument used when none is named: the current national design.
pub const DEFAULT: &str = "csl-2026";

/// The national targets (`surveys/targets.json`), built in.
pub const TARGETS: &str = include_str!("../surveys/targets.json");

/// The published national series (`surveys/national-series.json`), built in.
pub const NATIONAL_SERIES: &str = include_str!("../surveys/national-series.json");

/// The JSON of the built-in instrument `id`.
pub fn built_in(id: &str) -> Option<&'static str> {
    BUILT_IN
        .iter()
        .find(|(i, _)| *i == id)
        .map(|(_, json)| *json)
}

/// Loads and validates an instrument: the built-in default when `path` is
/// `None`, else [`load`].
pub fn load_or_default(path: Option<&Path>) -> anyhow::Result<Instrument> {
    match path {
        Some(path) => load(path),
        None => load(Path::new(DEFAULT)),
    }
}

/// Loads and validates the instrument in `path`: a directory holding
/// `instrument.json`, the JSON file itself, or, when no such file exists,
/// the id of a built-in national instrument (`csl-2026`, `csl-legacy`).
pub fn load(path: &Path) -> anyhow::Result<Instrument> {
    if !path.exists() {
        if let Some(json) = path.to_str().and_then(built_in) {
            return Ok(Instrument::from_json(
                &format!("{} (built in)", path.display()),
                json,
            )?);
        }
        let ids: Vec<&str> = BUILT_IN.iter().map(|(id, _)| *id).collect();
        bail!(
            "cannot read the instrument {}: no such file or folder, and not a built-in instrument ({})",
            path.display(),
            ids.join(", ")
        );
    }
    let file: PathBuf = if path.is_dir() {
        path.join(FILE_NAME)
    } else {
        path.to_owned()
    };
    let json = std::fs::read_to_string(&file)
        .with_context(|| format!("cannot read the instrument {}", file.display()))?;
    Ok(Instrument::from_json(&file.display().to_string(), &json)?)
}
