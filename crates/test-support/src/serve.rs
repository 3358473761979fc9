//! A `literacy serve` process for tests of the binary: started on a free
//! port, its printed accounts and page addresses read from stdout, its log
//! lines (stderr) kept, killed when dropped.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The token secret test processes share (replicas must agree on it).
pub const SECRET: &str = "a test secret of more than thirty-two bytes";

/// A running `literacy serve`.
#[derive(Debug)]
pub struct Serve {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Every line printed on stdout before "listening on".
    pub stdout: Vec<String>,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Serve {
    /// Starts `bin serve --database DATABASE --bind 127.0.0.1:0` with
    /// `extra` arguments and waits until it says where it listens.
    pub fn start(bin: &Path, database: &str, extra: &[&str]) -> Serve {
        let mut command = Command::new(bin);
        command.env_remove("RUST_LOG");
        Serve::start_with(command, database, extra)
    }

    /// [`Serve::start`] with a command prepared by the caller (its program
    /// and environment, `RUST_LOG` say).
    pub fn start_with(mut command: Command, database: &str, extra: &[&str]) -> Serve {
        let mut child = command
            .args(["serve", "--database", database, "--bind", "127.0.0.1:0"])
            .args(extra)
            .env("LITERACY_JWT_SECRET", SECRET)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{command:?} does not start: {e}"));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        if let Some(pipe) = child.stderr.take() {
            let lines = Arc::clone(&stderr);
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    lines
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push(line);
                }
            });
        }
        let pipe = child.stdout.take().expect("stdout is piped");
        let mut stdout = Vec::new();
        let mut base = None;
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("listening on ") {
                base = rest.split_whitespace().next().map(str::to_owned);
                break;
            }
            stdout.push(line);
        }
        let base = base.unwrap_or_else(|| {
            panic!(
                "the server never said where it listens; stdout: {stdout:?}; stderr: {:?}",
                stderr.lock().map(|l| l.clone()).unwrap_or_default()
            )
        });
        Serve {
            child,
            base,
            stdout,
            stderr,
        }
    }

    /// The password printed for the demo account `user`.
    pub fn password(&self, user: &str) -> String {
        self.stdout
            .iter()
            .find_map(
                |line| match line.split_whitespace().collect::<Vec<_>>()[..] {
                    [u, _role, password] if u == user => Some(password.to_owned()),
                    _ => None,
                },
            )
            .unwrap_or_else(|| panic!("no password printed for {user}: {:?}", self.stdout))
    }

    /// The address printed for the page `name` (`front-door`, `sign-in`,
    /// `questionnaire`, ...).
    pub fn page(&self, name: &str) -> Option<String> {
        self.stdout.iter().find_map(
            |line| match line.split_whitespace().collect::<Vec<_>>()[..] {
                [n, address] if n == name => Some(address.to_owned()),
                _ => None,
            },
        )
    }

    /// The lines logged on stderr so far.
    pub fn stderr(&self) -> Vec<String> {
        self.stderr
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Waits up to 10 s for the logged lines to satisfy `done`, and returns
    /// them (satisfied or not: the caller's assertion says what is missing).
    pub fn stderr_until(&self, done: impl Fn(&[String]) -> bool) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let lines = self.stderr();
            if done(&lines) || Instant::now() > deadline {
                return lines;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the process with SIGKILL and waits for it.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
