//! petri: boot guests under openvmm for VM tests.
//!
//! Build a [`PetriVmConfig`], then [`PetriVmConfig::run`] it or pass several
//! to [`run_batch`] (one test-host boot for all of them where possible). The
//! guest runs a shell command given on its kernel command line and reports its
//! exit code with a sentinel; the result holds the console, the guest exit code
//! and openvmm's exit status. Logs go to `target/petri-logs/<name>/`.
//!
//! Host modes ([`HostMode`]): directly on hardware KVM, or inside an L1 Linux
//! under QEMU TCG with nested KVM where `/dev/kvm` is not hardware-backed.
//! `PETRI_HOST=direct|testhost|skip` overrides the choice.
#![forbid(unsafe_code)]

pub mod cmdline;
pub mod cpio;
mod direct;
pub mod host;
mod lines;
pub mod markers;
pub mod paths;
pub mod testhost;
mod vm;

pub use host::HostDecision;
pub use host::HostMode;
pub use paths::Artifacts;
pub use vm::host_decision;
pub use vm::run_batch;
pub use vm::GuestRun;
pub use vm::PetriError;
pub use vm::PetriVmConfig;
pub use vm::DEFAULT_CMDLINE;
pub use vm::EXIT_POWEROFF;
pub use vm::EXIT_RESET;
