//! `restore-artifacts`: the Debian guest kernel and busybox, downloaded with
//! `apt-get download`, extracted with `dpkg-deb -x`, cached under
//! `target/artifacts/`; then the initramfs images built from them.

use crate::initramfs;
use crate::util::require_tool;
use crate::util::run_checked;
use crate::util::step;
use crate::util::Timer;
use anyhow::bail;
use anyhow::Context;
use petri::paths::names;
use petri::Artifacts;
use std::hash::Hash;
use std::hash::Hasher;
use std::path::Path;
use std::path::PathBuf;
use std::process::Command;

/// Overrides the kernel package (e.g. `linux-image-6.1.0-56-amd64`).
const KERNEL_PACKAGE_ENV: &str = "FLOWEY_KERNEL_PACKAGE";
/// Bump when the image layout changes, to force a rebuild.
const IMAGE_FORMAT: u32 = 2;

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

fn apt_update() -> anyhow::Result<()> {
    if !is_root() {
        bail!("the package lists look stale or empty; run `sudo apt-get update` and try again");
    }
    step("refreshing package lists (apt-get update)");
    run_checked(Command::new("apt-get").args(["update", "-q"]))?;
    Ok(())
}

/// The versioned kernel package `linux-image-amd64` depends on.
fn resolve_kernel_package() -> anyhow::Result<String> {
    if let Ok(p) = std::env::var(KERNEL_PACKAGE_ENV) {
        return Ok(p);
    }
    for tried_update in [false, true] {
        let out = Command::new("apt-cache")
            .args(["depends", "linux-image-amd64"])
            .output()
            .context("running apt-cache")?;
        let text = String::from_utf8_lossy(&out.stdout);
        let pkg = text.lines().find_map(|l| {
            let dep = l.trim().strip_prefix("Depends:")?.trim();
            (dep.starts_with("linux-image-6.1.")
                && dep.ends_with("-amd64")
                && !dep.contains("cloud"))
            .then(|| dep.to_string())
        });
        match pkg {
            Some(p) => return Ok(p),
            None if !tried_update => apt_update()?,
            None => {}
        }
    }
    bail!(
        "apt-cache does not know a Debian 6.1 `linux-image-6.1.0-*-amd64` package (is this Debian 12?); \
         set {KERNEL_PACKAGE_ENV} to the package to use"
    )
}

/// Downloads `pkg` into `debs`, returning the .deb path (cached).
fn download(debs: &Path, pkg: &str) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(debs)?;
    let find = || -> Option<PathBuf> {
        std::fs::read_dir(debs)
            .ok()?
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&format!("{pkg}_")) && n.ends_with(".deb"))
            })
    };
    if let Some(p) = find() {
        step(&format!("  {pkg}: cached {}", p.display()));
        return Ok(p);
    }
    let t = Timer::start();
    step(&format!("  downloading {pkg} (apt-get download)"));
    let mut tried_update = false;
    loop {
        let mut cmd = Command::new("apt-get");
        cmd.current_dir(debs).args(["download", "-q"]);
        if is_root() {
            // Without this apt warns that _apt cannot write to the cache dir.
            cmd.args(["-o", "APT::Sandbox::User=root"]);
        }
        match run_checked(cmd.arg(pkg)) {
            Ok(_) => break,
            Err(e) if !tried_update && is_root() => {
                step(&format!(
                    "  download failed ({e}); retrying after apt-get update"
                ));
                apt_update()?;
                tried_update = true;
            }
            Err(e) => {
                return Err(e.context(format!(
                    "downloading {pkg}; try `sudo apt-get update` first"
                )))
            }
        }
    }
    let p = find()
        .with_context(|| format!("apt-get download {pkg} left no .deb in {}", debs.display()))?;
    step(&format!("  {pkg}: downloaded in {:.1}s", t.secs()));
    Ok(p)
}

/// Extracts a .deb into `dest` (atomically: temp dir, then rename).
fn extract(deb: &Path, dest: &Path) -> anyhow::Result<()> {
    let t = Timer::start();
    let tmp = dest.with_extension("partial");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp)?;
    run_checked(Command::new("dpkg-deb").arg("-x").arg(deb).arg(&tmp))?;
    let _ = std::fs::remove_dir_all(dest);
    std::fs::rename(&tmp, dest)?;
    step(&format!(
        "  extracted {} in {:.1}s",
        deb.display(),
        t.secs()
    ));
    Ok(())
}

fn find_vmlinuz(kernel_dir: &Path) -> Option<(String, PathBuf)> {
    std::fs::read_dir(kernel_dir.join("boot"))
        .ok()?
        .flatten()
        .find_map(|e| {
            let name = e.file_name().to_str()?.to_string();
            let rel = name.strip_prefix("vmlinuz-")?.to_string();
            Some((rel, e.path()))
        })
}

/// Extracts the uncompressed ELF kernel from a bzImage: its payload is one xz stream
/// (Debian's kernels), decompressed with `xz`.
fn extract_vmlinux(bzimage: &Path, out: &Path) -> anyhow::Result<()> {
    let image = std::fs::read(bzimage)?;
    const XZ_MAGIC: &[u8] = b"\xfd7zXZ\x00";
    let start = image
        .windows(XZ_MAGIC.len())
        .position(|w| w == XZ_MAGIC)
        .with_context(|| format!("{} has no xz payload", bzimage.display()))?;
    let mut child = std::process::Command::new("xz")
        .args(["--decompress", "--stdout", "--single-stream"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::fs::File::create(out)?)
        .spawn()
        .map_err(|e| anyhow::anyhow!("running xz: {e} (install it: apt-get install xz-utils)"))?;
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("piped");
        // xz stops reading at the end of the stream; a closed pipe after that is fine.
        let _ = stdin.write_all(&image[start..]);
    }
    let status = child.wait()?;
    anyhow::ensure!(
        status.success(),
        "xz could not decompress {}",
        bzimage.display()
    );
    let elf = std::fs::read(out)?;
    anyhow::ensure!(
        elf.starts_with(b"\x7fELF"),
        "the payload of {} is not an ELF kernel",
        bzimage.display()
    );
    Ok(())
}

/// Compiles the guest's I/O benchmark as a static binary (glibc's static libraries
/// come with gcc's libc6-dev).
fn build_iobench(dir: &Path) -> anyhow::Result<PathBuf> {
    let src = dir.join("iobench.c");
    let out = dir.join("iobench");
    std::fs::write(&src, petri::paths::IOBENCH_C)?;
    let status = std::process::Command::new("cc")
        .args(["-static", "-O2", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .map_err(|e| {
            anyhow::anyhow!("running cc: {e} (install it: apt-get install gcc libc6-dev)")
        })?;
    anyhow::ensure!(
        status.success(),
        "compiling iobench failed (needs a C compiler with static glibc: apt-get install gcc libc6-dev)"
    );
    Ok(out)
}

fn fingerprint(release: &str, kernel: &Path, busybox: &Path) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    IMAGE_FORMAT.hash(&mut h);
    release.hash(&mut h);
    petri::paths::GUEST_INIT.hash(&mut h);
    petri::paths::IOBENCH_C.hash(&mut h);
    petri::paths::L1_INIT.hash(&mut h);
    initramfs::GUEST_MODULES.hash(&mut h);
    initramfs::L1_MODULES.hash(&mut h);
    for p in [kernel, busybox] {
        std::fs::metadata(p)
            .map(|m| m.len())
            .unwrap_or(0)
            .hash(&mut h);
    }
    format!("{:016x}", h.finish())
}

/// Restores everything; `force` rebuilds the images.
pub fn restore(force: bool) -> anyhow::Result<Artifacts> {
    let total = Timer::start();
    let dir = petri::paths::artifacts_dir();
    std::fs::create_dir_all(&dir)?;
    step(&format!("restoring guest artifacts into {}", dir.display()));
    let kernel_dir = dir.join("extract/kernel");
    let busybox_dir = dir.join("extract/busybox");

    step("[1/3] guest kernel (Debian linux-image-6.1.0-*-amd64)");
    if find_vmlinuz(&kernel_dir).is_none() {
        require_tool("apt-get", "apt")?;
        require_tool("apt-cache", "apt")?;
        require_tool("dpkg-deb", "dpkg")?;
        let pkg = resolve_kernel_package()?;
        let deb = download(&dir.join("debs"), &pkg)?;
        extract(&deb, &kernel_dir)?;
    }
    let (release, vmlinuz) = find_vmlinuz(&kernel_dir)
        .with_context(|| format!("no boot/vmlinuz-* in {}", kernel_dir.display()))?;
    step(&format!("  kernel {release}"));

    step("[2/3] busybox (Debian busybox-static)");
    let busybox = busybox_dir.join("bin/busybox");
    if !busybox.is_file() {
        require_tool("apt-get", "apt")?;
        require_tool("dpkg-deb", "dpkg")?;
        let deb = download(&dir.join("debs"), "busybox-static")?;
        extract(&deb, &busybox_dir)?;
    }
    step(&format!("  {}", busybox.display()));

    step("[3/3] initramfs images");
    let kernel = dir.join(names::VMLINUZ);
    if std::fs::metadata(&kernel).map(|m| m.len()).ok()
        != std::fs::metadata(&vmlinuz).map(|m| m.len()).ok()
    {
        std::fs::copy(&vmlinuz, &kernel)?;
    }
    std::fs::write(dir.join(names::KERNEL_RELEASE), format!("{release}\n"))?;
    let vmlinux = dir.join(names::VMLINUX);
    if !vmlinux.is_file()
        || std::fs::metadata(&vmlinux)?.modified()? < std::fs::metadata(&kernel)?.modified()?
    {
        extract_vmlinux(&kernel, &vmlinux)?;
        step(&format!("  {} (uncompressed, PVH)", vmlinux.display()));
    }
    let stamp_path = dir.join("images.stamp");
    let stamp = fingerprint(&release, &kernel, &busybox);
    let a = Artifacts::in_dir(&dir);
    let fresh = !force
        && std::fs::read_to_string(&stamp_path).ok().as_deref() == Some(stamp.as_str())
        && a.guest_initrd.is_file()
        && a.l1_base.is_file();
    if fresh {
        step("  up to date");
    } else {
        let t = Timer::start();
        let modules_dir = kernel_dir.join("lib/modules").join(&release);
        let iobench = build_iobench(&dir)?;
        let inputs = initramfs::Inputs {
            release: &release,
            modules_dir: &modules_dir,
            busybox: &busybox,
            kernel: &vmlinux,
            iobench: &iobench,
        };
        let (guest, n) = initramfs::guest(&inputs)?;
        std::fs::write(&a.guest_initrd, &guest)?;
        step(&format!(
            "  {} ({} KiB, {n} modules)",
            a.guest_initrd.display(),
            guest.len() / 1024
        ));
        let (base, n) = initramfs::l1_base(&inputs, &guest)?;
        std::fs::write(&a.l1_base, &base)?;
        step(&format!(
            "  {} ({} KiB, {n} modules, with the guest kernel and initramfs)",
            a.l1_base.display(),
            base.len() / 1024
        ));
        std::fs::write(&stamp_path, &stamp)?;
        step(&format!("  built in {:.1}s", t.secs()));
    }
    let a = Artifacts::locate().map_err(anyhow::Error::msg)?;
    step(&format!("artifacts ready in {:.1}s", total.secs()));
    Ok(a)
}
