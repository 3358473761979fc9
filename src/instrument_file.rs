//! Reading an instrument from `surveys/<id>/instrument.json` (or a file).

use std::path::{Path, PathBuf};

use anyhow::Context;
use literacy_core::Instrument;

/// File name of an instrument inside its directory.
pub const FILE_NAME: &str = "instrument.json";

/// Loads and validates the instrument in `path` (a directory holding
/// `instrument.json`, or the JSON file itself).
pub fn load(path: &Path) -> anyhow::Result<Instrument> {
    let file: PathBuf = if path.is_dir() {
        path.join(FILE_NAME)
    } else {
        path.to_owned()
    };
    let json = std::fs::read_to_string(&file)
        .with_context(|| format!("cannot read the instrument {}", file.display()))?;
    Ok(Instrument::from_json(&file.display().to_string(), &json)?)
}
