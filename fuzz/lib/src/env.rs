//! The fuzz targets' environment: which injected bug a run uses (`KOBJSIM_BUG`, as `--bug` in
//! `kobjsim`).

use kobject::{Bug, Bugs};

/// The environment variable naming the injected bug of a fuzz run.
pub const BUG_ENV: &str = "KOBJSIM_BUG";

/// Parses a bug name: empty or `none` is the faithful model; anything else must be a
/// [`Bug::name`].
pub fn parse_bug(name: &str) -> Result<Option<Bug>, String> {
    let name = name.trim();
    if name.is_empty() || name == "none" {
        return Ok(None);
    }
    Bug::from_name(name).map(Some).ok_or_else(|| {
        let known: Vec<&str> = Bug::ALL.iter().map(|b| b.name()).collect();
        format!(
            "{BUG_ENV}={name:?} is not a known bug; known bugs: none, {}",
            known.join(", ")
        )
    })
}

/// The bugs a fuzz run uses, from `KOBJSIM_BUG`.
///
/// # Panics
/// On an unknown name, with the list of known ones: a fuzz target calls this once at startup,
/// so a typo stops the run before any input instead of fuzzing the faithful model by mistake.
pub fn bugs_from_env() -> Bugs {
    let value = std::env::var(BUG_ENV).unwrap_or_default();
    match parse_bug(&value) {
        Ok(bug) => Bugs::one(bug),
        Err(message) => panic!("{message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bug_name_parses_and_unknown_names_are_refused() {
        assert_eq!(parse_bug(""), Ok(None));
        assert_eq!(parse_bug("none"), Ok(None));
        for &bug in Bug::ALL {
            assert_eq!(parse_bug(bug.name()), Ok(Some(bug)));
        }
        let err = parse_bug("voucher-swop").unwrap_err();
        assert!(err.contains("voucher-swap"), "{err}");
    }
}
