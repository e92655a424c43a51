//! Building the guest (L2) initramfs and the static part of the test-host (L1)
//! initramfs, as uncompressed `newc` archives (TCG decompresses slowly).

use crate::modules::ModuleIndex;
use anyhow::Context;
use petri::cpio::CpioWriter;
use std::io::Write;
use std::path::Path;

/// Modules the guest loads (with their dependency closure).
pub const GUEST_MODULES: &[&str] = &[
    "virtio_pci",
    "virtio_blk",
    "virtio_net",
    "nvme",
    "vfio",
    "vfio_pci",
    "vfio_iommu_type1",
];
/// Modules the test host needs for nested KVM on emulated SVM.
pub const L1_MODULES: &[&str] = &["kvm", "kvm_amd"];

/// The inputs both images are made of.
pub struct Inputs<'a> {
    /// Kernel release.
    pub release: &'a str,
    /// `lib/modules/<release>` of the extracted kernel package.
    pub modules_dir: &'a Path,
    /// The busybox binary.
    pub busybox: &'a Path,
    /// The guest kernel image (uncompressed, PVH).
    pub kernel: &'a Path,
    /// The static `iobench` binary for the guest.
    pub iobench: &'a Path,
}

fn skeleton<W: Write>(w: &mut CpioWriter<W>) -> anyhow::Result<()> {
    for d in ["proc", "sys", "dev", "tmp", "root", "etc", "mnt", "run"] {
        w.dir(d)?;
    }
    // The kernel opens /dev/console for init before devtmpfs is mounted.
    w.char_dev("dev/console", 0o600, 5, 1)?;
    w.char_dev("dev/null", 0o666, 1, 3)?;
    Ok(())
}

fn add_busybox<W: Write>(w: &mut CpioWriter<W>, busybox: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(busybox).with_context(|| format!("reading {}", busybox.display()))?;
    w.file("bin/busybox", 0o755, &bytes)?;
    let list = crate::util::run_checked(std::process::Command::new(busybox).arg("--list-full"))?;
    for applet in list.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if applet != "bin/busybox" {
            w.symlink(applet, "/bin/busybox")?;
        }
    }
    Ok(())
}

fn add_modules<W: Write>(
    w: &mut CpioWriter<W>,
    i: &Inputs<'_>,
    roots: &[&str],
) -> anyhow::Result<usize> {
    let index = ModuleIndex::new(i.modules_dir)?;
    let order = index.closure(roots)?;
    let mut list = String::new();
    for rel in &order {
        let bytes = std::fs::read(i.modules_dir.join(rel))?;
        let inside = format!("{}/{}", i.release, rel.display());
        w.file(&format!("lib/modules/{inside}"), 0o644, &bytes)?;
        list.push_str(&inside);
        list.push('\n');
    }
    w.file("lib/modules/petri-load-order", 0o644, list.as_bytes())?;
    Ok(order.len())
}

/// The L2 guest initramfs: busybox, guest modules, petri's guest `/init`.
pub fn guest(i: &Inputs<'_>) -> anyhow::Result<(Vec<u8>, usize)> {
    let mut w = CpioWriter::new(Vec::new());
    skeleton(&mut w)?;
    add_busybox(&mut w, i.busybox)?;
    let n = add_modules(&mut w, i, GUEST_MODULES)?;
    w.file("init", 0o755, petri::paths::GUEST_INIT.as_bytes())?;
    let iobench =
        std::fs::read(i.iobench).with_context(|| format!("reading {}", i.iobench.display()))?;
    w.file("bin/iobench", 0o755, &iobench)?;
    Ok((w.finish()?, n))
}

/// The static part of the L1 initramfs: busybox, KVM modules, petri's L1
/// `/init`, and the L2 kernel and initramfs under `/l2/`.
pub fn l1_base(i: &Inputs<'_>, guest_initrd: &[u8]) -> anyhow::Result<(Vec<u8>, usize)> {
    use petri::paths::names;
    let mut w = CpioWriter::new(Vec::new());
    skeleton(&mut w)?;
    add_busybox(&mut w, i.busybox)?;
    let n = add_modules(&mut w, i, L1_MODULES)?;
    w.file("init", 0o755, petri::paths::L1_INIT.as_bytes())?;
    w.file(names::L1_L2_KERNEL, 0o644, &std::fs::read(i.kernel)?)?;
    w.file(names::L1_L2_INITRD, 0o644, guest_initrd)?;
    w.dir("petri/bin")?;
    Ok((w.finish()?, n))
}
