//! The one typed configuration every part of the VMM is built from.

use crate::topology::TopologySpec;
use std::path::PathBuf;

/// Where a UART's output goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SerialConfig {
    /// The VMM's stdin/stdout.
    Stdio,
    /// Output appended to a file.
    File(PathBuf),
    /// Present but unconnected.
    None,
}

/// A whole VM.
#[derive(Debug, Clone)]
pub struct VmConfig {
    /// Kernel image (bzImage or PVH vmlinux).
    pub kernel: PathBuf,
    /// Optional initrd.
    pub initrd: Option<PathBuf>,
    /// Kernel command line.
    pub cmdline: String,
    /// Guest RAM in bytes.
    pub memory: u64,
    /// Number of vCPUs.
    pub processors: u32,
    /// COM1 (ttyS0).
    pub com1: SerialConfig,
    /// COM2 (ttyS1).
    pub com2: SerialConfig,
    /// PCI Express root complexes, ports and devices.
    pub topology: TopologySpec,
}

impl VmConfig {
    /// APIC ids of the vCPUs.
    pub fn apic_ids(&self) -> Vec<u32> {
        (0..self.processors).collect()
    }
}
