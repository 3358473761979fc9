//! Scratch folders for tests that write files.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// A fresh, empty folder `target/test-scratch/<name>` (the target folder
/// found from the test executable; the system's temporary folder when it
/// cannot be), emptied first if an earlier run left it.
pub fn scratch(name: &str) -> PathBuf {
    let base = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(3).map(Path::to_path_buf))
        .unwrap_or_else(std::env::temp_dir);
    let dir = base.join("test-scratch").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("scratch folder {}: {e}", dir.display()));
    dir
}

/// A fresh folder outside any checkout (under the system's temporary
/// folder, named for this process), for tests of running from anywhere.
pub fn outside(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("literacy-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("scratch folder {}: {e}", dir.display()));
    dir
}

/// A name no other call gives, in this test process or another one
/// (process id, a counter, the clock's nanoseconds): for scratch files and
/// databases.
pub fn unique_name() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}
