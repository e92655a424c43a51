//! Building openvmm.

use anyhow::bail;
use std::process::Command;

/// `cargo build --release -p openvmm_entry`, output shown.
pub fn build_openvmm_release() -> anyhow::Result<()> {
    if let Some(p) = std::env::var_os(petri::paths::OPENVMM_ENV) {
        crate::util::step(&format!(
            "using {} from {} (not building openvmm)",
            std::path::Path::new(&p).display(),
            petri::paths::OPENVMM_ENV
        ));
        return Ok(());
    }
    crate::util::step("building openvmm (cargo build --release -p openvmm_entry)");
    let status = Command::new(cargo())
        .args(["build", "--release", "-p", "openvmm_entry"])
        .current_dir(petri::paths::workspace_root())
        .status()?;
    if !status.success() {
        bail!("building openvmm failed ({status})");
    }
    let bin = petri::paths::openvmm_path();
    if !bin.is_file() {
        bail!("the build finished but {} does not exist", bin.display());
    }
    Ok(())
}

/// The cargo that runs us.
pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}
