//! Process hardening for the key-holding daemon: no core dumps and no same-uid ptrace.
//!
//! `serve` calls [`harden_process`] before it loads the key, so a crash cannot write the key
//! into a core file and another process of the same user cannot attach to read it.

use nix::sys::prctl;
use nix::sys::resource::{Resource, setrlimit};

use crate::error::Error;

/// Marks the process non-dumpable (`PR_SET_DUMPABLE=0`) and sets `RLIMIT_CORE` to 0.
///
/// Non-dumpable also blocks `ptrace` attach by the same uid and makes `/proc/self/*` owned by
/// root. Both settings survive for the process's lifetime (an `execve` of a set-uid binary
/// aside). Each failure is reported as [`Error::Hardening`] naming the step.
pub fn harden_process() -> Result<(), Error> {
    setrlimit(Resource::RLIMIT_CORE, 0, 0).map_err(|source| Error::Hardening {
        step: "disable core dumps (setrlimit RLIMIT_CORE=0)",
        source,
    })?;
    prctl::set_dumpable(false).map_err(|source| Error::Hardening {
        step: "mark the process non-dumpable (prctl PR_SET_DUMPABLE=0)",
        source,
    })?;
    Ok(())
}

/// Whether the process is currently hardened as [`harden_process`] leaves it.
pub fn is_hardened() -> Result<bool, Error> {
    let dumpable = prctl::get_dumpable().map_err(|source| Error::Hardening {
        step: "read PR_GET_DUMPABLE",
        source,
    })?;
    let (soft, hard) = nix::sys::resource::getrlimit(Resource::RLIMIT_CORE).map_err(|source| {
        Error::Hardening {
            step: "read RLIMIT_CORE",
            source,
        }
    })?;
    Ok(!dumpable && soft == 0 && hard == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs only inside the child started by `harden_process_disables_dumps_and_core_files`,
    /// so the test harness process itself stays debuggable.
    #[test]
    fn harden_process_child() -> Result<(), Error> {
        if std::env::var_os("VWF_HARDEN_CHILD").is_none() {
            return Ok(());
        }
        assert!(!is_hardened()?);
        harden_process()?;
        assert!(!prctl::get_dumpable().map_err(|source| Error::Hardening {
            step: "read PR_GET_DUMPABLE",
            source,
        })?);
        assert!(is_hardened()?);
        // Idempotent: a second call must not fail (the hard limit is already 0).
        harden_process()?;
        println!("HARDENED");
        Ok(())
    }

    #[test]
    fn harden_process_disables_dumps_and_core_files() -> Result<(), std::io::Error> {
        let output = std::process::Command::new(std::env::current_exe()?)
            .args([
                "hardening::tests::harden_process_child",
                "--exact",
                "--nocapture",
            ])
            .env("VWF_HARDEN_CHILD", "1")
            .output()?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains("HARDENED"),
            "{stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        Ok(())
    }
}
