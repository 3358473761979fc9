//! Running the `literacy` command in tests of the binary.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

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

/// Runs `bin` with `args`, `stdin` written to its standard input, and no
/// `DATABASE_URL` from the environment (commands that open a store).
pub fn run_with_stdin(bin: &str, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(bin)
        .args(args)
        .env_remove("DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{bin} does not run: {e}"));
    let written = child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes());
    // A command that ends without reading its input closes the pipe first.
    if let Err(e) = written
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        panic!("{bin}: writing its input: {e}");
    }
    child.wait_with_output().expect("the command ends")
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
