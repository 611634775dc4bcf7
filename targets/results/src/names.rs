//! Safe file names for user-given population, variable and projection names.

use std::collections::HashSet;

/// Longest sanitised name component, in bytes (file names stay well under
/// the usual 255-byte limit even with a variable, a suffix and `.steps.npy`).
pub const MAX_COMPONENT_LEN: usize = 100;

/// The file-name form of one user-given name component:
/// every character outside `[A-Za-z0-9_.-]` becomes `_` (one `_` per
/// Unicode scalar value), a leading `.` becomes `_` (no hidden files, no
/// `.`/`..`), the empty name becomes `_`, and the result is cut to
/// [`MAX_COMPONENT_LEN`] bytes.
pub fn sanitize(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(MAX_COMPONENT_LEN)
        .collect();
    if out.is_empty() {
        out.push('_');
    }
    if out.starts_with('.') {
        out.replace_range(0..1, "_");
    }
    out
}

/// True when `name` is its own sanitised form.
pub fn is_safe(name: &str) -> bool {
    sanitize(name) == name
}

/// True when `file` could have been produced by this crate as a file name
/// inside a record directory: non-empty, only `[A-Za-z0-9_.-]`, not starting
/// with `.`, ending in `.npy`.
pub(crate) fn is_safe_file_name(file: &str) -> bool {
    !file.is_empty()
        && !file.starts_with('.')
        && file.ends_with(".npy")
        && file
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

/// A wanted file stem: the sanitised base and whether it equals the
/// user-given name(s) unchanged.
pub(crate) struct Wanted {
    pub base: String,
    pub exact: bool,
}

/// Gives every record of one directory a stem so that no two records'
/// files (`stem + suffix` for every suffix in `suffixes`) coincide, even on
/// a case-insensitive file system.
///
/// Deterministic: first, in record order, every record whose name needed
/// no change takes its base stem if all its files are still free; then, in
/// record order, every other record takes the first free stem of `base`,
/// `base-2`, `base-3`, ...
pub(crate) fn assign(wanted: &[Wanted], suffixes: &[&str]) -> Vec<String> {
    let mut taken: HashSet<String> = HashSet::new();
    let mut out: Vec<Option<String>> = vec![None; wanted.len()];
    let files = |stem: &str| -> Vec<String> {
        suffixes
            .iter()
            .map(|s| format!("{stem}{s}").to_ascii_lowercase())
            .collect()
    };
    let try_take = |stem: &str, taken: &mut HashSet<String>| -> bool {
        let f = files(stem);
        if f.iter().any(|x| taken.contains(x)) {
            return false;
        }
        taken.extend(f);
        true
    };
    for (i, w) in wanted.iter().enumerate() {
        if w.exact && try_take(&w.base, &mut taken) {
            out[i] = Some(w.base.clone());
        }
    }
    for (i, w) in wanted.iter().enumerate() {
        if out[i].is_some() {
            continue;
        }
        if try_take(&w.base, &mut taken) {
            out[i] = Some(w.base.clone());
            continue;
        }
        let mut k: u64 = 2;
        loop {
            let stem = format!("{}-{k}", w.base);
            if try_take(&stem, &mut taken) {
                out[i] = Some(stem);
                break;
            }
            k += 1;
        }
    }
    out.into_iter().flatten().collect()
}
