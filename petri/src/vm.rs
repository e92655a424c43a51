//! The VM builder, its result, and the batch entry point.

use crate::cmdline;
use crate::host;
use crate::host::HostDecision;
use crate::host::HostMode;
use crate::markers;
use crate::paths;
use crate::paths::Artifacts;
use std::path::PathBuf;
use std::time::Duration;

/// openvmm's exit status when the guest powered off.
pub const EXIT_POWEROFF: i32 = 0;
/// openvmm's exit status when the guest reset (rebooted).
pub const EXIT_RESET: i32 = 10;
/// The default guest kernel command line (before extra arguments).
pub const DEFAULT_CMDLINE: &str = "console=ttyS0 quiet panic=-1 mitigations=off";

/// Errors from booting guests.
#[derive(Debug, thiserror::Error)]
pub enum PetriError {
    /// Neither host mode can run here; tests must say so loudly.
    #[error("VM tests cannot run on this machine: {0}")]
    Skipped(String),
    /// Something needed is missing (artifacts, openvmm, a tool).
    #[error("VM test setup: {0}")]
    Setup(String),
    /// The test host (L1) hung, reset or crashed, after all retries.
    #[error("test-host infrastructure failure after {attempts} attempt(s): {detail} (logs: {})", log_dir.display())]
    Infrastructure {
        /// L1 boots tried.
        attempts: u32,
        /// What went wrong in the last one.
        detail: String,
        /// Where the L1 serial logs are.
        log_dir: PathBuf,
    },
    /// I/O error while running.
    #[error("VM test I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// One guest to boot.
#[derive(Debug, Clone)]
pub struct PetriVmConfig {
    /// Name (used for logs: `target/petri-logs/<name>/`).
    pub name: String,
    /// `--processors`.
    pub processors: u32,
    /// `--memory` (e.g. `512M`, `2G`).
    pub memory: String,
    /// Guest kernel command line before `kernel_args`.
    pub base_cmdline: String,
    /// Extra guest kernel arguments.
    pub kernel_args: Vec<String>,
    /// Extra openvmm flags.
    pub vmm_args: Vec<String>,
    /// Shell command run in the guest (`sh -c`); `None` prints the default report.
    pub command: Option<String>,
    /// Time allowed for the whole guest run (boot to power-off).
    pub timeout: Duration,
    /// Print the guest console on stdout while it runs.
    pub stream: bool,
    /// Shell commands run on the VM host (L1 in the test host) before openvmm.
    pub host_setup: Vec<String>,
    /// Shell commands run on the VM host after openvmm exits; what they print is
    /// appended to the console (e.g. a checksum of a disk image).
    pub host_check: Vec<String>,
}

/// Placeholder for the VM's scratch directory on the VM host (in `vmm_args`,
/// `host_setup` and `host_check`): disk images live there.
pub const SCRATCH: &str = "{scratch}";

impl PetriVmConfig {
    /// A guest with 2 processors and 1 GiB, printing the default report.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_string(),
            processors: 2,
            memory: "1G".into(),
            base_cmdline: DEFAULT_CMDLINE.into(),
            kernel_args: Vec::new(),
            vmm_args: Vec::new(),
            command: None,
            timeout: Duration::from_secs(
                std::env::var("PETRI_GUEST_TIMEOUT")
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(120),
            ),
            stream: false,
            host_setup: Vec::new(),
            host_check: Vec::new(),
        }
    }

    /// Runs `cmd` on the VM host before openvmm starts ([`SCRATCH`] is replaced).
    pub fn host_setup(mut self, cmd: &str) -> Self {
        self.host_setup.push(cmd.to_string());
        self
    }

    /// Runs `cmd` on the VM host after openvmm exits; its output joins the console.
    pub fn host_check(mut self, cmd: &str) -> Self {
        self.host_check.push(cmd.to_string());
        self
    }

    /// A raw disk image of `size_mb` MiB in the scratch directory, on root port `port`
    /// (`None`: a new port), as `--disk`. Returns the image path as the VM host sees it.
    pub fn disk(self, name: &str, size_mb: u64, port: Option<&str>) -> Self {
        let path = format!("{SCRATCH}/{name}.img");
        let mut spec = format!("file={path}");
        if let Some(port) = port {
            spec.push_str(&format!(",pcie_port={port}"));
        }
        self.host_setup(&format!("truncate -s {size_mb}M {path}"))
            .vmm_args(&["--disk", spec.as_str()])
    }

    /// The argv that runs openvmm on the VM host: openvmm itself, or a shell wrapping
    /// it in the setup and check commands, with [`SCRATCH`] replaced by `scratch`.
    pub(crate) fn host_argv(&self, openvmm: &str, args: Vec<String>, scratch: &str) -> Vec<String> {
        let args: Vec<String> = args.iter().map(|a| a.replace(SCRATCH, scratch)).collect();
        if self.host_setup.is_empty() && self.host_check.is_empty() {
            let mut argv = vec![openvmm.to_string()];
            argv.extend(args);
            return argv;
        }
        let mut script = format!("mkdir -p {scratch}\n");
        for c in &self.host_setup {
            script.push_str(&c.replace(SCRATCH, scratch));
            script.push('\n');
        }
        script.push_str(&cmdline::shell_join(
            &std::iter::once(openvmm.to_string())
                .chain(args)
                .collect::<Vec<_>>(),
        ));
        script.push_str("\nst=$?\n");
        for c in &self.host_check {
            script.push_str(&c.replace(SCRATCH, scratch));
            script.push('\n');
        }
        script.push_str("rm -rf ");
        script.push_str(scratch);
        script.push_str("\nexit $st\n");
        vec!["/bin/sh".into(), "-c".into(), script]
    }

    /// Sets `--processors`.
    pub fn processors(mut self, n: u32) -> Self {
        self.processors = n;
        self
    }

    /// Sets `--memory`.
    pub fn memory(mut self, m: &str) -> Self {
        self.memory = m.to_string();
        self
    }

    /// Adds guest kernel arguments.
    pub fn kernel_args<S: AsRef<str>>(mut self, args: &[S]) -> Self {
        self.kernel_args
            .extend(args.iter().map(|a| a.as_ref().to_string()));
        self
    }

    /// Adds openvmm flags.
    pub fn vmm_args<S: AsRef<str>>(mut self, args: &[S]) -> Self {
        self.vmm_args
            .extend(args.iter().map(|a| a.as_ref().to_string()));
        self
    }

    /// Runs `script` with `sh -c` in the guest.
    pub fn command(mut self, script: &str) -> Self {
        self.command = Some(script.to_string());
        self
    }

    /// Runs an argv in the guest (quoted for the shell).
    pub fn command_argv<S: AsRef<str>>(mut self, argv: &[S]) -> Self {
        self.command = Some(cmdline::shell_join(argv));
        self
    }

    /// Sets the guest timeout.
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }

    /// Streams the guest console to stdout.
    pub fn stream(mut self, on: bool) -> Self {
        self.stream = on;
        self
    }

    /// Boots this one guest.
    pub fn run(self) -> Result<GuestRun, PetriError> {
        let name = self.name.clone();
        run_batch(&name, vec![self])
            .pop()
            .expect("one result per guest")
    }

    /// openvmm's argv (without the binary) for the given kernel, initrd, cmdline.
    pub(crate) fn openvmm_args(&self, kernel: &str, initrd: &str, cmdline: &str) -> Vec<String> {
        let mut a: Vec<String> = vec![
            "--kernel".into(),
            kernel.into(),
            "--initrd".into(),
            initrd.into(),
            "--cmdline".into(),
            cmdline.into(),
            "--processors".into(),
            self.processors.to_string(),
            "--memory".into(),
            self.memory.clone(),
            "--com1".into(),
            "stdio".into(),
        ];
        a.extend(self.vmm_args.iter().cloned());
        a
    }
}

/// A guest prepared for running: its config, nonce and kernel command line.
#[derive(Debug, Clone)]
pub(crate) struct PreparedVm {
    pub cfg: PetriVmConfig,
    pub nonce: String,
    pub cmdline: String,
    pub log_dir: PathBuf,
    /// A newc archive with `/petri/cmd`, appended to the guest initramfs, for
    /// commands too long for the kernel command line.
    pub command_archive: Option<Vec<u8>>,
}

/// Commands longer than this travel as a file in an extra initramfs archive.
const INLINE_COMMAND_MAX: usize = 900;

/// A newc archive holding `script` as `/petri/cmd`.
fn command_archive(script: &str) -> Result<Vec<u8>, PetriError> {
    let mut w = crate::cpio::CpioWriter::new(Vec::new());
    w.file("petri/cmd", 0o755, script.as_bytes())?;
    Ok(w.finish()?)
}

/// What happened to one guest.
#[derive(Debug, Clone)]
pub struct GuestRun {
    /// The guest's name.
    pub name: String,
    /// How it was booted.
    pub host_mode: HostMode,
    /// openvmm's exit status (`None` if it was killed or did not report one).
    pub vmm_status: Option<i32>,
    /// The guest command's exit code, from the sentinel.
    pub guest_exit: Option<i32>,
    /// The run exceeded its timeout and was killed.
    pub timed_out: bool,
    /// The full guest console.
    pub console: String,
    /// Console lines printed by the guest command (between the sentinels).
    pub output: String,
    /// Wall time of the openvmm run.
    pub duration: Duration,
    /// Directory holding this guest's logs.
    pub log_dir: PathBuf,
    /// openvmm's stderr (direct mode; in the test host it is in `console`).
    pub vmm_stderr: String,
}

impl GuestRun {
    pub(crate) fn from_console(
        vm: &PreparedVm,
        mode: HostMode,
        console: String,
        vmm_status: Option<i32>,
        timed_out: bool,
        duration: Duration,
        vmm_stderr: String,
    ) -> Self {
        let t = markers::scan_transcript(&console, &vm.nonce);
        let run = Self {
            name: vm.cfg.name.clone(),
            host_mode: mode,
            vmm_status,
            guest_exit: t.exit_code,
            timed_out,
            console,
            output: t.output,
            duration,
            log_dir: vm.log_dir.clone(),
            vmm_stderr,
        };
        run.write_logs();
        run
    }

    fn write_logs(&self) {
        let _ = std::fs::create_dir_all(&self.log_dir);
        let _ = std::fs::write(self.log_dir.join("console.log"), &self.console);
        let summary = format!(
            "name: {}\nhost mode: {}\nopenvmm exit status: {:?}\nguest exit code: {:?}\ntimed out: {}\nduration: {:.1}s\n",
            self.name,
            self.host_mode,
            self.vmm_status,
            self.guest_exit,
            self.timed_out,
            self.duration.as_secs_f64()
        );
        let _ = std::fs::write(self.log_dir.join("result.txt"), summary);
        if !self.vmm_stderr.is_empty() {
            let _ = std::fs::write(self.log_dir.join("openvmm-stderr.log"), &self.vmm_stderr);
        }
    }

    /// A failure description with the console attached.
    pub fn report(&self, what: &str) -> String {
        let mut s = format!(
            "{what}\n  guest {} ({} mode): openvmm exit status {:?}, guest exit code {:?}, timed out {}, {:.1}s\n  logs: {}\n",
            self.name,
            self.host_mode,
            self.vmm_status,
            self.guest_exit,
            self.timed_out,
            self.duration.as_secs_f64(),
            self.log_dir.display()
        );
        s.push_str("----- guest console -----\n");
        s.push_str(&self.console);
        if !self.vmm_stderr.is_empty() {
            s.push_str("\n----- openvmm stderr -----\n");
            s.push_str(&self.vmm_stderr);
        }
        s.push_str("\n----- end -----\n");
        s
    }

    /// Panics with the console attached unless `cond` holds.
    #[track_caller]
    pub fn ensure(&self, cond: bool, what: &str) {
        if !cond {
            panic!("{}", self.report(what));
        }
    }

    /// Panics unless the guest command ran, exited 0 and the guest powered off.
    #[track_caller]
    pub fn ensure_success(&self) {
        self.ensure(!self.timed_out, "the guest timed out");
        self.ensure(
            self.guest_exit == Some(0),
            "the guest command did not exit 0",
        );
        self.ensure(
            self.vmm_status == Some(EXIT_POWEROFF),
            "openvmm did not end with the power-off status",
        );
    }
}

/// How the batch will run, decided once per process.
pub fn host_decision() -> HostDecision {
    host::decide(&host::HostFacts::probe())
}

/// Boots several guests, in one test-host boot where possible. Returns one
/// result per guest, in order.
pub fn run_batch(batch: &str, vms: Vec<PetriVmConfig>) -> Vec<Result<GuestRun, PetriError>> {
    let n = vms.len();
    let all = |e: PetriError| -> Vec<Result<GuestRun, PetriError>> {
        let msg = e.to_string();
        (0..n)
            .map(|_| {
                Err(match &e {
                    PetriError::Skipped(s) => PetriError::Skipped(s.clone()),
                    _ => PetriError::Setup(msg.clone()),
                })
            })
            .collect()
    };
    let mode = match host_decision() {
        HostDecision::Use(mode, why) => {
            eprintln!("petri: host mode {mode} ({why})");
            mode
        }
        HostDecision::Skip(why) => {
            eprintln!("petri: SKIPPING VM TESTS: {why}");
            return all(PetriError::Skipped(why));
        }
        HostDecision::BadOverride(why) => return all(PetriError::Setup(why)),
    };
    let artifacts = match Artifacts::locate() {
        Ok(a) => a,
        Err(e) => return all(PetriError::Setup(e)),
    };
    let openvmm = paths::openvmm_path();
    if !openvmm.is_file() {
        return all(PetriError::Setup(format!(
            "{} is missing: run `cargo build --release -p openvmm_entry` (or set {})",
            openvmm.display(),
            paths::OPENVMM_ENV
        )));
    }
    let mut prepared = Vec::new();
    for cfg in vms {
        let nonce = cmdline::new_nonce();
        let (inline, archive) = match cfg.command.as_deref() {
            Some(c) if c.len() > INLINE_COMMAND_MAX => match command_archive(c) {
                Ok(a) => (None, Some(a)),
                Err(e) => return all(PetriError::Setup(format!("{}: {e}", cfg.name))),
            },
            other => (other, None),
        };
        let line = match cmdline::guest_cmdline(&cfg.base_cmdline, &cfg.kernel_args, inline, &nonce)
        {
            Ok(l) => l,
            Err(e) => return all(PetriError::Setup(format!("{}: {e}", cfg.name))),
        };
        let log_dir = paths::logs_root().join(paths::sanitize(&cfg.name));
        let _ = std::fs::remove_dir_all(&log_dir);
        prepared.push(PreparedVm {
            cfg,
            nonce,
            cmdline: line,
            log_dir,
            command_archive: archive,
        });
    }
    match mode {
        HostMode::Direct => crate::direct::run(&openvmm, &artifacts, &prepared),
        HostMode::TestHost => crate::testhost::run(batch, &openvmm, &artifacts, &prepared),
    }
}

#[cfg(test)]
mod host_argv_tests {
    use super::*;

    #[test]
    fn plain_and_wrapped() {
        let vm = PetriVmConfig::new("x");
        assert_eq!(
            vm.host_argv("/o", vec!["--a".into()], "/s"),
            vec!["/o", "--a"]
        );
        let vm = PetriVmConfig::new("x")
            .disk("d0", 64, Some("rp0"))
            .host_check("md5sum {scratch}/d0.img");
        let args = vm.vmm_args.clone();
        let argv = vm.host_argv("/o", args, "/tmp/s");
        assert_eq!(&argv[..2], ["/bin/sh", "-c"]);
        let script = &argv[2];
        assert!(
            script.contains("truncate -s 64M /tmp/s/d0.img\n"),
            "{script}"
        );
        assert!(
            script.contains("/o --disk file=/tmp/s/d0.img,pcie_port=rp0\nst=$?\n"),
            "{script}"
        );
        assert!(script.contains("md5sum /tmp/s/d0.img\n"), "{script}");
        assert!(script.ends_with("exit $st\n"), "{script}");
    }
}
