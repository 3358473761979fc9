//! Running the `literacy` command in tests of the binary.

use std::path::Path;
use std::process::{Command, Output};

/// Runs `bin` (the test's `env!("CARGO_BIN_EXE_literacy")`) with `args`,
/// in `dir` when given, and returns what it did.
pub fn run(bin: &str, dir: Option<&Path>, args: &[&str]) -> Output {
    let mut command = Command::new(bin);
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    command
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{bin} does not run: {e}"))
}

/// What the command wrote on stderr, as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The command's stdout as JSON, after checking it succeeded.
pub fn json(output: &Output) -> serde_json::Value {
    assert!(output.status.success(), "{}", stderr(output));
    serde_json::from_slice(&output.stdout).expect("JSON output")
}
