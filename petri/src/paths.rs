//! Where things live: the workspace, the artifact cache, logs, openvmm.
//!
//! The artifact cache (built by `cargo xflowey restore-artifacts`) is laid out as:
//! - `kernel-release` — the guest kernel release, e.g. `6.1.0-56-amd64`,
//! - `vmlinuz` — the test-host kernel (bzImage),
//! - `vmlinux` — the same kernel uncompressed, booted as the guest through PVH,
//! - `guest-initrd.cpio` — the L2 guest initramfs (busybox, modules, petri's `/init`),
//! - `l1-base.cpio` — the static part of the test-host initramfs (busybox, KVM
//!   modules, petri's L1 `/init`, and the L2 kernel and initramfs under `/l2/`).

use std::path::Path;
use std::path::PathBuf;

/// Overrides the artifact cache directory.
pub const ARTIFACTS_ENV: &str = "PETRI_ARTIFACTS";
/// Overrides the openvmm binary.
pub const OPENVMM_ENV: &str = "PETRI_OPENVMM";

/// File names inside the artifact cache.
pub mod names {
    /// Text file holding the kernel release.
    pub const KERNEL_RELEASE: &str = "kernel-release";
    /// The kernel image (bzImage): the test host's kernel.
    pub const VMLINUZ: &str = "vmlinuz";
    /// The same kernel uncompressed (ELF with a PVH entry): the guest's kernel, which
    /// boots without decompressing itself (several seconds under nested TCG).
    pub const VMLINUX: &str = "vmlinux";
    /// The L2 guest initramfs.
    pub const GUEST_INITRD: &str = "guest-initrd.cpio";
    /// The static part of the L1 initramfs.
    pub const L1_BASE: &str = "l1-base.cpio";
    /// Where the L2 kernel sits inside L1.
    pub const L1_L2_KERNEL: &str = "/l2/vmlinux";
    /// Where the L2 initramfs sits inside L1.
    pub const L1_L2_INITRD: &str = "/l2/initrd.cpio";
    /// Where openvmm sits inside L1.
    pub const L1_OPENVMM: &str = "/petri/bin/openvmm";
    /// The job list inside L1.
    pub const L1_JOBS: &str = "/petri/jobs.sh";
}

/// The guest's `/init` (L2), embedded so flowey and petri agree on it.
pub const GUEST_INIT: &str = include_str!("../guest/init");
/// Source of the guest's small I/O benchmark (`/bin/iobench`), built static at
/// artifact time.
pub const IOBENCH_C: &str = include_str!("../guest/iobench.c");
/// The test host's `/init` (L1).
pub const L1_INIT: &str = include_str!("../guest/l1-init");

/// The workspace root (petri's parent directory).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("petri lives inside the workspace")
        .to_path_buf()
}

/// The cargo target directory (`CARGO_TARGET_DIR` or `<workspace>/target`).
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) => workspace_root().join(d),
        None => workspace_root().join("target"),
    }
}

/// The artifact cache (`PETRI_ARTIFACTS` or `target/artifacts`).
pub fn artifacts_dir() -> PathBuf {
    match std::env::var_os(ARTIFACTS_ENV) {
        Some(d) => workspace_root().join(d),
        None => target_dir().join("artifacts"),
    }
}

/// Where serial logs of VM tests go (`target/petri-logs`).
pub fn logs_root() -> PathBuf {
    target_dir().join("petri-logs")
}

/// Scratch space for per-run images (`target/petri-work`).
pub fn work_root() -> PathBuf {
    target_dir().join("petri-work")
}

/// The openvmm binary (`PETRI_OPENVMM` or `target/release/openvmm`).
pub fn openvmm_path() -> PathBuf {
    match std::env::var_os(OPENVMM_ENV) {
        Some(p) => workspace_root().join(p),
        None => target_dir().join("release").join("openvmm"),
    }
}

/// Makes a name safe as one path component.
pub fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The restored guest artifacts.
#[derive(Debug, Clone)]
pub struct Artifacts {
    /// Cache directory.
    pub dir: PathBuf,
    /// Kernel release.
    pub release: String,
    /// Kernel image (bzImage; the test host boots it).
    pub kernel: PathBuf,
    /// The guest kernel (uncompressed ELF, PVH entry).
    pub guest_kernel: PathBuf,
    /// L2 guest initramfs.
    pub guest_initrd: PathBuf,
    /// Static part of the L1 initramfs.
    pub l1_base: PathBuf,
}

impl Artifacts {
    /// Describes the cache in `dir` without checking it.
    pub fn in_dir(dir: &Path) -> Self {
        let release = std::fs::read_to_string(dir.join(names::KERNEL_RELEASE))
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        Self {
            dir: dir.to_path_buf(),
            release,
            kernel: dir.join(names::VMLINUZ),
            guest_kernel: dir.join(names::VMLINUX),
            guest_initrd: dir.join(names::GUEST_INITRD),
            l1_base: dir.join(names::L1_BASE),
        }
    }

    /// Finds the restored artifacts, or says how to get them.
    pub fn locate() -> Result<Self, String> {
        let a = Self::in_dir(&artifacts_dir());
        for p in [&a.kernel, &a.guest_kernel, &a.guest_initrd, &a.l1_base] {
            if !p.is_file() {
                return Err(format!(
                    "guest artifact {} is missing: run `cargo xflowey restore-artifacts`",
                    p.display()
                ));
            }
        }
        Ok(a)
    }
}
