//! Test support: Python virtual environments with given packages, for peer
//! checks against real NumPy (and other Python tools). Not part of the
//! stable API; other crates' tests use it through
//! `spikeforge_results::peer::python_with(&["numpy"])`.
//!
//! A venv is created once per package list under
//! `<cargo target dir>/peer-venvs/<key>` (`<key>`: the sorted package
//! specs joined with `+`, each sanitised; `numpy` for `["numpy"]`) with
//! `python3 -m venv` and `pip install`, and reused by later calls and later
//! test runs. Creation is guarded by an in-process mutex (test threads) and
//! a lock file `<key>.lock` (test processes); a venv counts as ready only
//! once the marker file `.spikeforge-ready` (holding the package list) is
//! in it, so an interrupted installation is redone.
//!
//! Environment: `SPIKEFORGE_PYTHON` names the base interpreter (default
//! `python3`); `SPIKEFORGE_PEER_VENVS` overrides the directory holding the
//! venvs.

use std::ffi::OsStr;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

static IN_PROCESS: Mutex<()> = Mutex::new(());

const READY: &str = ".spikeforge-ready";
/// A lock file older than this is taken to be left by a dead run.
const STALE_LOCK: Duration = Duration::from_secs(30 * 60);
/// Longest wait for another process's installation.
const WAIT: Duration = Duration::from_secs(40 * 60);

/// Why a venv could not be provided.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{command} failed ({status}).\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}\n{hint}"
    )]
    Command {
        command: String,
        status: String,
        stdout: String,
        stderr: String,
        hint: String,
    },
    #[error(
        "gave up after {0:?} waiting for the lock file {1} (another test process installing?)"
    )]
    LockTimeout(Duration, PathBuf),
}

/// The directory holding the venvs: `$SPIKEFORGE_PEER_VENVS`, else
/// `peer-venvs` in the cargo target directory of the running test binary
/// (found as the nearest ancestor holding cargo's `CACHEDIR.TAG`), else
/// `target/peer-venvs` of this workspace.
pub fn venv_root() -> PathBuf {
    if let Some(p) = std::env::var_os("SPIKEFORGE_PEER_VENVS") {
        return PathBuf::from(p);
    }
    if let Ok(exe) = std::env::current_exe() {
        for dir in exe.ancestors().skip(1) {
            if dir.join("CACHEDIR.TAG").is_file() {
                return dir.join("peer-venvs");
            }
        }
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/peer-venvs")
}

/// The venv directory name for a package list.
pub fn venv_key(packages: &[&str]) -> String {
    let mut p: Vec<String> = packages
        .iter()
        .map(|s| crate::names::sanitize(s.trim()))
        .collect();
    p.sort();
    p.dedup();
    if p.is_empty() {
        "base".to_string()
    } else {
        p.join("+")
    }
}

/// The Python interpreter of a venv with `packages` installed (created on
/// first use). Panics with the installer's output when it cannot be made
/// (no `python3`, no `venv` module, no network for `pip install`): a peer
/// check that cannot run fails, it is never skipped.
pub fn python_with(packages: &[&str]) -> PathBuf {
    match try_python_with(packages) {
        Ok(p) => p,
        Err(e) => panic!(
            "peer check: could not provide a Python venv with {packages:?}: {e}\n\
             (the venv lives under {}; it needs python3 with the venv module and \
             network access to the Python package index for pip install)",
            venv_root().display()
        ),
    }
}

fn venv_python(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    }
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> PeerError {
    let what = what.into();
    move |source| PeerError::Io { what, source }
}

/// Like [`python_with`], returning the error instead of panicking.
pub fn try_python_with(packages: &[&str]) -> Result<PathBuf, PeerError> {
    let base = std::env::var_os("SPIKEFORGE_PYTHON").unwrap_or_else(|| "python3".into());
    try_python_with_in(&venv_root(), &base, packages)
}

/// Like [`try_python_with`] with the venv directory `root` and the base
/// interpreter `base` given instead of taken from the environment.
pub fn try_python_with_in(
    root: &Path,
    base: &OsStr,
    packages: &[&str],
) -> Result<PathBuf, PeerError> {
    let key = venv_key(packages);
    let venv = root.join(&key);
    let python = venv_python(&venv);
    let want = {
        let mut p: Vec<&str> = packages.iter().map(|s| s.trim()).collect();
        p.sort_unstable();
        p.dedup();
        p.join("\n")
    };
    let ready = |venv: &Path| {
        std::fs::read_to_string(venv.join(READY)).is_ok_and(|s| s == want) && python.exists()
    };
    if ready(&venv) {
        return Ok(python);
    }
    let _threads = IN_PROCESS.lock().unwrap_or_else(|e| e.into_inner());
    std::fs::create_dir_all(root).map_err(io(format!("creating {}", root.display())))?;
    let _lock = FileLock::acquire(&root.join(format!("{key}.lock")))?;
    if ready(&venv) {
        return Ok(python);
    }
    if venv.exists() {
        std::fs::remove_dir_all(&venv).map_err(io(format!(
            "removing the incomplete venv {}",
            venv.display()
        )))?;
    }
    run(
        Command::new(base).arg("-m").arg("venv").arg(&venv),
        "is python3 installed with its venv module (Debian: apt-get install python3-venv)?",
    )?;
    if !packages.is_empty() {
        let mut cmd = Command::new(&python);
        cmd.args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
            "--quiet",
        ]);
        cmd.args(packages.iter().map(|s| s.trim()));
        run(
            &mut cmd,
            "pip install failed: is the Python package index reachable (network, proxy)?",
        )?;
    }
    std::fs::write(venv.join(READY), &want)
        .map_err(io(format!("writing {}", venv.join(READY).display())))?;
    Ok(python)
}

fn run(cmd: &mut Command, hint: &str) -> Result<(), PeerError> {
    let shown = format!("{cmd:?}");
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(io(format!("running {shown}")))?;
    if out.status.success() {
        return Ok(());
    }
    Err(PeerError::Command {
        command: shown,
        status: out.status.to_string(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        hint: hint.to_string(),
    })
}

/// Runs `python -c code args...` and returns its stdout; panics with both
/// output streams when it exits unsuccessfully.
pub fn run_python<S: AsRef<OsStr>>(python: &Path, code: &str, args: &[S]) -> String {
    let out: Output = Command::new(python)
        .arg("-c")
        .arg(code)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("could not run {}: {e}", python.display()));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        panic!(
            "python peer script failed ({}).\n--- stdout ---\n{stdout}\n--- stderr ---\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    stdout
}

/// An exclusive lock held as long as the file exists: created with
/// `create_new`, holding the owner's pid, removed on drop.
struct FileLock {
    path: PathBuf,
}

impl FileLock {
    fn acquire(path: &Path) -> Result<FileLock, PeerError> {
        let start = Instant::now();
        loop {
            match OpenOptions::new().write(true).create_new(true).open(path) {
                Ok(mut f) => {
                    let _ = writeln!(f, "{}", std::process::id());
                    return Ok(FileLock {
                        path: path.to_path_buf(),
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    if lock_is_stale(path) {
                        let _ = std::fs::remove_file(path);
                        continue;
                    }
                    if start.elapsed() > WAIT {
                        return Err(PeerError::LockTimeout(WAIT, path.to_path_buf()));
                    }
                    std::thread::sleep(Duration::from_millis(250));
                }
                Err(e) => return Err(io(format!("creating the lock file {}", path.display()))(e)),
            }
        }
    }
}

/// A lock whose owner process is gone (checked through `/proc` where it
/// exists) or that is older than [`STALE_LOCK`].
fn lock_is_stale(path: &Path) -> bool {
    if let Ok(text) = std::fs::read_to_string(path) {
        if let Ok(pid) = text.trim().parse::<u32>() {
            let proc_dir = Path::new("/proc");
            if proc_dir.join("self").exists() && !proc_dir.join(pid.to_string()).exists() {
                return true;
            }
        }
    }
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|age| age > STALE_LOCK)
}

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("spikeforge-peer-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_missing_interpreter_is_an_error_naming_it() {
        let root = scratch("missing");
        let e =
            try_python_with_in(&root, OsStr::new("/nonexistent/python3"), &["numpy"]).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/python3"), "{e}");
        assert!(!root.join("numpy.lock").exists(), "lock released");
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn lock_is_exclusive_and_stale_locks_are_broken() {
        let root = scratch("lock");
        let path = root.join("k.lock");
        let held = FileLock::acquire(&path).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let p2 = path.clone();
        let waiter = std::thread::spawn(move || {
            let _l = FileLock::acquire(&p2).unwrap();
            tx.send(()).unwrap();
        });
        assert!(
            rx.recv_timeout(Duration::from_millis(600)).is_err(),
            "second holder waits"
        );
        drop(held);
        rx.recv_timeout(Duration::from_secs(10))
            .expect("acquired after release");
        waiter.join().unwrap();
        assert!(!path.exists());
        // A lock left by a process that no longer exists.
        if Path::new("/proc/self").exists() {
            std::fs::write(&path, format!("{}\n", u32::MAX - 1)).unwrap();
            let _l = FileLock::acquire(&path).unwrap();
            assert_eq!(
                std::fs::read_to_string(&path).unwrap().trim(),
                std::process::id().to_string()
            );
        }
        let _ = std::fs::remove_dir_all(&root);
    }
}
