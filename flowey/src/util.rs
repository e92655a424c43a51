//! Small helpers: stage headers, running tools with clear errors.

use anyhow::bail;
use anyhow::Context;
use std::process::Command;
use std::time::Instant;

/// Prints a progress step.
pub fn step(msg: &str) {
    eprintln!("flowey: {msg}");
}

/// Fails with an install hint if `tool` is not in PATH.
pub fn require_tool(tool: &str, package: &str) -> anyhow::Result<()> {
    if petri::host::find_in_path(tool).is_none() {
        bail!("`{tool}` is not installed; install it with: apt-get install {package}");
    }
    Ok(())
}

/// Runs a command, failing with its stderr if it does not succeed.
pub fn run_checked(cmd: &mut Command) -> anyhow::Result<String> {
    let desc = format!("{cmd:?}");
    let out = cmd.output().with_context(|| format!("starting {desc}"))?;
    if !out.status.success() {
        bail!(
            "{desc} failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A started stopwatch.
pub struct Timer(Instant);

impl Timer {
    /// Starts it.
    pub fn start() -> Self {
        Self(Instant::now())
    }

    /// Seconds since start.
    pub fn secs(&self) -> f64 {
        self.0.elapsed().as_secs_f64()
    }
}
