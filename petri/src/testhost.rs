//! Test-host mode: an L1 Linux under QEMU TCG (emulated AMD SVM) runs openvmm
//! on nested KVM. One L1 boot runs several jobs in a row; each job's console
//! comes back on L1's serial port between markers (see [`crate::markers`]).
//!
//! An L1 that hangs (no marker within its deadline) or resets (QEMU exits
//! without the `done` marker) is an infrastructure failure: the jobs that had
//! not finished are run again in a new L1 boot, a bounded number of times. A
//! job that finished is never re-run, whatever its result.

use crate::cmdline;
use crate::cpio::CpioWriter;
use crate::host;
use crate::host::HostMode;
use crate::lines::LineReader;
use crate::lines::Next;
use crate::markers;
use crate::markers::L1Marker;
use crate::paths;
use crate::paths::names;
use crate::paths::Artifacts;
use crate::vm::GuestRun;
use crate::vm::PetriError;
use crate::vm::PreparedVm;
use std::io::Write;
use std::path::Path;
use std::path::PathBuf;
use std::process::Command;
use std::process::Stdio;
use std::time::Duration;
use std::time::Instant;

/// Test-host settings (environment: `PETRI_L1_SMP`, `PETRI_L1_MEMORY_MB`,
/// `PETRI_L1_RETRIES`, `PETRI_L1_BOOT_TIMEOUT`).
#[derive(Debug, Clone)]
pub struct L1Options {
    /// `-smp` of the L1 VM.
    pub smp: u32,
    /// `-m` of the L1 VM, in MiB.
    pub memory_mb: u32,
    /// Extra L1 boots after an infrastructure failure.
    pub retries: u32,
    /// Time allowed from QEMU start to the `ready` marker.
    pub boot_timeout: Duration,
    /// Time allowed between jobs (after `job-end`, until the next marker).
    pub idle_timeout: Duration,
}

fn env_num<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

impl L1Options {
    /// Defaults, overridden by the environment.
    pub fn from_env() -> Self {
        Self {
            smp: env_num("PETRI_L1_SMP", 1),
            memory_mb: env_num("PETRI_L1_MEMORY_MB", 4096),
            retries: env_num("PETRI_L1_RETRIES", 2),
            boot_timeout: Duration::from_secs(env_num("PETRI_L1_BOOT_TIMEOUT", 150)),
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// One command run inside L1 (an openvmm invocation, or a stand-in).
#[derive(Debug, Clone)]
pub struct L1Job {
    /// Name, for messages.
    pub name: String,
    /// argv inside L1.
    pub argv: Vec<String>,
    /// Time allowed inside L1 before the job is killed.
    pub timeout: Duration,
    /// Print the job's output on stdout as it arrives.
    pub stream: bool,
}

/// What one job did inside L1.
#[derive(Debug, Clone)]
pub struct L1JobResult {
    /// Exit status as L1's shell reported it (137 after a kill).
    pub status: i32,
    /// The job was killed at its timeout.
    pub timed_out: bool,
    /// Everything the job printed.
    pub console: String,
    /// Wall time inside L1.
    pub l1_ms: u64,
    /// Which L1 boot (1-based) ran it.
    pub attempt: u32,
}

/// Timings of one L1 boot.
#[derive(Debug, Clone)]
pub struct L1Boot {
    /// 1-based attempt number.
    pub attempt: u32,
    /// QEMU start to the `ready` marker.
    pub ready_after: Option<Duration>,
    /// QEMU start to QEMU exit.
    pub total: Duration,
    /// Why it failed, if it did.
    pub failure: Option<String>,
}

/// Everything a batch of jobs produced.
#[derive(Debug)]
pub struct L1Report {
    /// Per job: its result, or the error that kept it from finishing.
    pub jobs: Vec<Result<L1JobResult, PetriError>>,
    /// Each L1 boot.
    pub boots: Vec<L1Boot>,
    /// Directory with the L1 serial logs.
    pub log_dir: PathBuf,
}

/// The QEMU command line for an L1 boot.
pub fn qemu_args(opts: &L1Options, kernel: &Path, initrd: &Path, run: &str) -> Vec<String> {
    [
        "-machine",
        "q35,accel=tcg",
        "-cpu",
        "EPYC",
        "-smp",
        &opts.smp.to_string(),
        "-m",
        &opts.memory_mb.to_string(),
        "-display",
        "none",
        "-no-reboot",
        "-nodefaults",
        "-monitor",
        "none",
        "-serial",
        "stdio",
        "-kernel",
        &kernel.to_string_lossy(),
        "-initrd",
        &initrd.to_string_lossy(),
        "-append",
        &format!("console=ttyS0 panic=-1 loglevel=1 mitigations=off petri.run={run}"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Parses `ldd` output into the absolute paths of the libraries.
pub fn parse_ldd(out: &str) -> Vec<String> {
    let mut libs = Vec::new();
    for line in out.lines() {
        let line = line.trim();
        let path = if let Some((_, rest)) = line.split_once("=>") {
            rest.split_whitespace().next()
        } else {
            line.split_whitespace().next()
        };
        if let Some(p) = path {
            if p.starts_with('/') && !libs.iter().any(|l| l == p) {
                libs.push(p.to_string());
            }
        }
    }
    libs
}

/// Builds the per-run archive part holding a binary (stripped if `strip`
/// exists) at `dest` and the shared libraries `ldd` lists for it.
pub fn binary_archive<W: Write>(
    w: &mut CpioWriter<W>,
    bin: &Path,
    dest: &str,
) -> Result<(), PetriError> {
    let data = match host::find_in_path("strip") {
        Some(strip) => {
            let tmp = paths::work_root().join(format!("stripped-{}", std::process::id()));
            std::fs::create_dir_all(paths::work_root())?;
            let ok = Command::new(strip)
                .arg("--strip-debug")
                .arg("-o")
                .arg(&tmp)
                .arg(bin)
                .stderr(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            let d = if ok {
                std::fs::read(&tmp)?
            } else {
                std::fs::read(bin)?
            };
            let _ = std::fs::remove_file(&tmp);
            d
        }
        None => std::fs::read(bin)?,
    };
    w.file(dest, 0o755, &data)?;
    if let Ok(out) = Command::new("ldd").arg(bin).output() {
        for lib in parse_ldd(&String::from_utf8_lossy(&out.stdout)) {
            let bytes = std::fs::read(&lib).map_err(|e| {
                PetriError::Setup(format!("reading {lib} (needed by openvmm): {e}"))
            })?;
            w.file(&lib, 0o755, &bytes)?;
        }
    }
    Ok(())
}

/// Environment variable listing extra host paths (`:`-separated) to copy into
/// the test host at the same paths: files with the libraries `ldd` lists for
/// them, directories recursively. For tools a job needs (e.g. a stand-in VMM).
pub const L1_EXTRA_ENV: &str = "PETRI_L1_EXTRA";

fn add_extra_paths<W: Write>(w: &mut CpioWriter<W>) -> Result<(), PetriError> {
    let Ok(list) = std::env::var(L1_EXTRA_ENV) else {
        return Ok(());
    };
    for p in list.split(':').filter(|p| !p.is_empty()) {
        add_tree(w, Path::new(p))?;
    }
    Ok(())
}

fn add_tree<W: Write>(w: &mut CpioWriter<W>, p: &Path) -> Result<(), PetriError> {
    if p.is_dir() {
        for e in std::fs::read_dir(p)? {
            add_tree(w, &e?.path())?;
        }
        return Ok(());
    }
    let dest = p.to_string_lossy().into_owned();
    w.file(&dest, 0o755, &std::fs::read(p)?)?;
    if let Ok(out) = Command::new("ldd").arg(p).output() {
        for lib in parse_ldd(&String::from_utf8_lossy(&out.stdout)) {
            w.file(&lib, 0o755, &std::fs::read(&lib)?)?;
        }
    }
    Ok(())
}

/// The job list L1's `/init` sources.
pub fn jobs_script(jobs: &[(usize, &L1Job)]) -> String {
    let mut s = String::from("# generated by petri\n");
    for (id, job) in jobs {
        s.push_str(&format!(
            "petri_job {id} {} {}\n",
            job.timeout.as_secs().max(1),
            cmdline::shell_join(&job.argv)
        ));
    }
    s
}

/// Runs openvmm guests in the test host.
pub(crate) fn run(
    batch: &str,
    openvmm: &Path,
    artifacts: &Artifacts,
    vms: &[PreparedVm],
) -> Vec<Result<GuestRun, PetriError>> {
    let jobs: Vec<L1Job> = vms
        .iter()
        .enumerate()
        .map(|(i, vm)| {
            let mut cfg = vm.cfg.clone();
            let mut initrd = names::L1_L2_INITRD.to_string();
            if vm.command_archive.is_some() {
                // The guest initramfs plus this guest's command archive.
                initrd = format!("{}/initrd.cpio", crate::vm::SCRATCH);
                cfg.host_setup.insert(
                    0,
                    format!(
                        "cat {} /petri/vm{i}-cmd.cpio > {initrd}",
                        names::L1_L2_INITRD
                    ),
                );
            }
            let argv = cfg.host_argv(
                names::L1_OPENVMM,
                cfg.openvmm_args(names::L1_L2_KERNEL, &initrd, &vm.cmdline),
                &format!("/tmp/petri-vm{i}"),
            );
            L1Job {
                name: vm.cfg.name.clone(),
                argv,
                timeout: vm.cfg.timeout,
                stream: vm.cfg.stream,
            }
        })
        .collect();
    let mut payload = CpioWriter::new(Vec::new());
    let payload = binary_archive(&mut payload, openvmm, names::L1_OPENVMM)
        .and_then(|()| add_extra_paths(&mut payload))
        .and_then(|()| {
            for (i, vm) in vms.iter().enumerate() {
                if let Some(a) = &vm.command_archive {
                    payload.file(&format!("petri/vm{i}-cmd.cpio"), 0o644, a)?;
                }
            }
            Ok(())
        })
        .and_then(|()| Ok(payload.finish()?));
    let payload = match payload {
        Ok(p) => p,
        Err(e) => {
            let msg = e.to_string();
            return vms
                .iter()
                .map(|_| Err(PetriError::Setup(msg.clone())))
                .collect();
        }
    };
    let report = run_jobs(batch, artifacts, &payload, &jobs, &L1Options::from_env());
    report
        .jobs
        .into_iter()
        .zip(vms)
        .map(|(r, vm)| {
            r.map(|j| {
                let _ = std::fs::create_dir_all(&vm.log_dir);
                let _ = std::fs::write(
                    vm.log_dir.join("command.txt"),
                    format!("(inside the test host) {}\n", shell_cmd(&jobs, vm)),
                );
                GuestRun::from_console(
                    vm,
                    HostMode::TestHost,
                    j.console,
                    (!j.timed_out).then_some(j.status),
                    j.timed_out,
                    Duration::from_millis(j.l1_ms),
                    String::new(),
                )
            })
        })
        .collect()
}

fn shell_cmd(jobs: &[L1Job], vm: &PreparedVm) -> String {
    jobs.iter()
        .find(|j| j.name == vm.cfg.name)
        .map(|j| cmdline::shell_join(&j.argv))
        .unwrap_or_default()
}

/// Runs arbitrary jobs inside the test host; `extra` is a cpio archive appended
/// to the L1 initramfs (binaries the jobs need). Retries L1 boots that fail.
pub fn run_jobs(
    batch: &str,
    artifacts: &Artifacts,
    extra: &[u8],
    jobs: &[L1Job],
    opts: &L1Options,
) -> L1Report {
    let log_dir = paths::logs_root().join(format!("{}-testhost", paths::sanitize(batch)));
    let _ = std::fs::remove_dir_all(&log_dir);
    let mut results: Vec<Option<Result<L1JobResult, PetriError>>> =
        jobs.iter().map(|_| None).collect();
    let mut boots = Vec::new();
    let max = opts.retries + 1;
    for attempt in 1..=max {
        let pending: Vec<usize> = (0..jobs.len()).filter(|&i| results[i].is_none()).collect();
        if pending.is_empty() {
            break;
        }
        let boot = boot_once(
            batch,
            artifacts,
            extra,
            jobs,
            &pending,
            opts,
            attempt,
            &log_dir,
            &mut results,
        );
        let (boot, fatal) = match boot {
            Ok(b) => (b, None),
            Err(e) => (
                L1Boot {
                    attempt,
                    ready_after: None,
                    total: Duration::ZERO,
                    failure: Some(e.to_string()),
                },
                Some(e),
            ),
        };
        let failure = boot.failure.clone();
        boots.push(boot);
        if let Some(e) = fatal {
            let msg = e.to_string();
            for r in results.iter_mut().filter(|r| r.is_none()) {
                *r = Some(Err(PetriError::Setup(msg.clone())));
            }
            break;
        }
        if let Some(f) = failure {
            let left = results.iter().filter(|r| r.is_none()).count();
            eprintln!(
                "petri: INFRASTRUCTURE FAILURE in test-host boot {attempt}/{max}: {f}; {left} job(s) unfinished{}",
                if attempt < max && left > 0 { ", retrying in a new boot" } else { "" }
            );
            if attempt == max {
                for r in results.iter_mut().filter(|r| r.is_none()) {
                    *r = Some(Err(PetriError::Infrastructure {
                        attempts: max,
                        detail: f.clone(),
                        log_dir: log_dir.clone(),
                    }));
                }
            }
        }
    }
    let mut t = String::new();
    for b in &boots {
        t.push_str(&format!(
            "boot {}: ready after {}, total {:.1}s, {}\n",
            b.attempt,
            b.ready_after
                .map(|d| format!("{:.1}s", d.as_secs_f64()))
                .unwrap_or_else(|| "-".into()),
            b.total.as_secs_f64(),
            b.failure.as_deref().unwrap_or("ok")
        ));
    }
    let _ = std::fs::create_dir_all(&log_dir);
    let _ = std::fs::write(log_dir.join("boots.txt"), t);
    L1Report {
        jobs: results
            .into_iter()
            .map(|r| r.expect("every job settled"))
            .collect(),
        boots,
        log_dir,
    }
}

/// One L1 boot running `pending` jobs. `Ok` with `failure` set is an
/// infrastructure failure (retryable); `Err` is a set-up error (not retried).
#[allow(clippy::too_many_arguments)]
fn boot_once(
    batch: &str,
    artifacts: &Artifacts,
    extra: &[u8],
    jobs: &[L1Job],
    pending: &[usize],
    opts: &L1Options,
    attempt: u32,
    log_dir: &Path,
    results: &mut [Option<Result<L1JobResult, PetriError>>],
) -> Result<L1Boot, PetriError> {
    let run = cmdline::new_nonce();
    let work = paths::work_root().join(paths::sanitize(batch));
    std::fs::create_dir_all(&work)?;
    std::fs::create_dir_all(log_dir)?;
    // initramfs = static base + extra payload + job list.
    let initrd = work.join("l1-initrd.cpio");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&initrd)?);
        f.write_all(&std::fs::read(&artifacts.l1_base)?)?;
        f.write_all(extra)?;
        let list: Vec<(usize, &L1Job)> = pending.iter().map(|&i| (i, &jobs[i])).collect();
        let mut w = CpioWriter::new(f);
        w.file(names::L1_JOBS, 0o644, jobs_script(&list).as_bytes())?;
        w.finish()?.flush()?;
    }
    let args = qemu_args(opts, &artifacts.kernel, &initrd, &run);
    let qemu = host::qemu_binary();
    let serial_log_path = log_dir.join(format!("l1-serial-attempt{attempt}.log"));
    let mut serial_log = std::io::BufWriter::new(std::fs::File::create(&serial_log_path)?);
    writeln!(serial_log, "# {qemu} {}", cmdline::shell_join(&args))?;
    let start = Instant::now();
    let mut child = Command::new(&qemu)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(
            log_dir.join(format!("qemu-stderr-attempt{attempt}.log")),
        )?)
        .spawn()
        .map_err(|e| {
            PetriError::Setup(format!(
                "cannot start {qemu}: {e} (apt-get install qemu-system-x86)"
            ))
        })?;
    let reader = LineReader::spawn(child.stdout.take().expect("piped"));
    eprintln!(
        "petri: test-host boot {attempt} (-smp {}, {} job(s)); serial log {}",
        opts.smp,
        pending.len(),
        serial_log_path.display()
    );

    let mut deadline = start + opts.boot_timeout;
    let mut ready_after = None;
    let mut current: Option<(usize, String, bool)> = None;
    let mut failure: Option<String> = None;
    let mut setup_error: Option<String> = None;
    let mut done = false;
    let mut streamer = crate::lines::Streamer::default();
    loop {
        match reader.next(deadline) {
            Next::Line(line) => {
                let _ = writeln!(serial_log, "{line}");
                match markers::parse_l1(&line, &run) {
                    Some((before, m)) => {
                        if let Some((id, console, _)) = current.as_mut() {
                            if !before.is_empty() {
                                console.push_str(before);
                                console.push('\n');
                                if jobs[*id].stream {
                                    streamer.line(before);
                                }
                            }
                        }
                        match m {
                            L1Marker::Ready => {
                                ready_after = Some(start.elapsed());
                                eprintln!(
                                    "petri: test host ready after {:.1}s",
                                    start.elapsed().as_secs_f64()
                                );
                                deadline = Instant::now() + opts.idle_timeout;
                            }
                            L1Marker::Error(e) => {
                                setup_error = Some(e);
                                deadline = Instant::now() + opts.idle_timeout;
                            }
                            L1Marker::JobStart(id) if id < jobs.len() => {
                                current = Some((id, String::new(), false));
                                deadline = Instant::now() + jobs[id].timeout + opts.idle_timeout;
                            }
                            L1Marker::JobTimeout(id) => {
                                if let Some((cur, _, to)) = current.as_mut() {
                                    if *cur == id {
                                        *to = true;
                                    }
                                }
                            }
                            L1Marker::JobEnd { id, status, ms } => {
                                if let Some((cur, mut console, timed_out)) = current.take() {
                                    if cur == id {
                                        // The marker's leading newline.
                                        if console.ends_with("\n\n") {
                                            console.pop();
                                        }
                                        results[id] = Some(Ok(L1JobResult {
                                            status,
                                            timed_out,
                                            console,
                                            l1_ms: ms,
                                            attempt,
                                        }));
                                    }
                                }
                                deadline = Instant::now() + opts.idle_timeout;
                            }
                            L1Marker::Done => {
                                done = true;
                                // Give QEMU a moment to power off.
                                deadline = Instant::now() + Duration::from_secs(30);
                            }
                            L1Marker::JobStart(_) => {}
                        }
                    }
                    None => {
                        if let Some((id, console, _)) = current.as_mut() {
                            if jobs[*id].stream {
                                streamer.line(&line);
                            }
                            console.push_str(&line);
                            console.push('\n');
                        }
                    }
                }
            }
            Next::Eof => {
                if !done {
                    failure = Some(match &current {
                        Some((id, _, _)) => format!(
                            "the test host stopped (reset or crash) while running job {} ({})",
                            id, jobs[*id].name
                        ),
                        None if ready_after.is_none() => {
                            "the test host stopped before it was ready".into()
                        }
                        None => "the test host stopped between jobs".into(),
                    });
                }
                break;
            }
            Next::Timeout => {
                if !done {
                    failure = Some(match &current {
                        Some((id, _, _)) => format!(
                            "the test host hung: no marker for {}s while running job {} ({})",
                            (jobs[*id].timeout + opts.idle_timeout).as_secs(),
                            id,
                            jobs[*id].name
                        ),
                        None if ready_after.is_none() => format!(
                            "the test host did not become ready within {}s",
                            opts.boot_timeout.as_secs()
                        ),
                        None => format!(
                            "the test host hung: no marker for {}s",
                            opts.idle_timeout.as_secs()
                        ),
                    });
                }
                let _ = child.kill();
                break;
            }
        }
    }
    let _ = child.wait();
    let total = start.elapsed();
    let _ = serial_log.flush();
    if let Some(e) = setup_error {
        return Err(PetriError::Setup(format!(
            "test host: {e} (serial log {})",
            serial_log_path.display()
        )));
    }
    Ok(L1Boot {
        attempt,
        ready_after,
        total,
        failure,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldd_output() {
        let out = "\tlinux-vdso.so.1 (0x00007ffd2b5f6000)\n\
                   \tlibgcc_s.so.1 => /lib/x86_64-linux-gnu/libgcc_s.so.1 (0x00007f)\n\
                   \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)\n\
                   \t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n";
        assert_eq!(
            parse_ldd(out),
            vec![
                "/lib/x86_64-linux-gnu/libgcc_s.so.1",
                "/lib/x86_64-linux-gnu/libc.so.6",
                "/lib64/ld-linux-x86-64.so.2"
            ]
        );
        assert!(parse_ldd("\tnot a dynamic executable\n").is_empty());
    }

    #[test]
    fn job_list_is_quoted() {
        let job = L1Job {
            name: "a".into(),
            argv: vec![
                "/petri/bin/openvmm".into(),
                "--cmdline".into(),
                "console=ttyS0 quiet".into(),
            ],
            timeout: Duration::from_secs(90),
            stream: false,
        };
        let s = jobs_script(&[(3, &job)]);
        assert!(
            s.contains("petri_job 3 90 /petri/bin/openvmm --cmdline 'console=ttyS0 quiet'\n"),
            "{s}"
        );
    }

    #[test]
    fn qemu_command_line() {
        let o = L1Options {
            smp: 1,
            memory_mb: 2048,
            retries: 0,
            boot_timeout: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(1),
        };
        let a = qemu_args(&o, Path::new("/k"), Path::new("/i"), "xyz");
        let s = a.join(" ");
        assert!(
            s.contains("-machine q35,accel=tcg -cpu EPYC -smp 1 -m 2048"),
            "{s}"
        );
        assert!(s.contains("-no-reboot"));
        assert!(a.last().unwrap().contains("petri.run=xyz"));
        assert!(a.last().unwrap().contains("panic=-1"));
    }
}
