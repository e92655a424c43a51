//! Direct mode: openvmm on the host's hardware KVM.

use crate::host::HostMode;
use crate::lines::LineReader;
use crate::lines::Next;
use crate::paths::Artifacts;
use crate::vm::GuestRun;
use crate::vm::PetriError;
use crate::vm::PreparedVm;
use std::path::Path;
use std::process::Command;
use std::process::Stdio;
use std::time::Instant;

pub(crate) fn run(
    openvmm: &Path,
    artifacts: &Artifacts,
    vms: &[PreparedVm],
) -> Vec<Result<GuestRun, PetriError>> {
    vms.iter()
        .map(|vm| run_one(openvmm, artifacts, vm))
        .collect()
}

fn run_one(openvmm: &Path, a: &Artifacts, vm: &PreparedVm) -> Result<GuestRun, PetriError> {
    std::fs::create_dir_all(&vm.log_dir)?;
    let mut initrd = a.guest_initrd.clone();
    if let Some(archive) = &vm.command_archive {
        // The guest initramfs plus this guest's command archive.
        let mut bytes = std::fs::read(&a.guest_initrd)?;
        bytes.extend_from_slice(archive);
        initrd = vm.log_dir.join("initrd.cpio");
        std::fs::write(&initrd, bytes)?;
    }
    let args = vm.cfg.openvmm_args(
        &a.guest_kernel.to_string_lossy(),
        &initrd.to_string_lossy(),
        &vm.cmdline,
    );
    std::fs::write(
        vm.log_dir.join("command.txt"),
        format!(
            "{} {}\n",
            openvmm.display(),
            crate::cmdline::shell_join(&args)
        ),
    )?;
    let stderr_path = vm.log_dir.join("openvmm-stderr.log");
    let scratch = vm.log_dir.join("scratch");
    let argv = vm
        .cfg
        .host_argv(&openvmm.to_string_lossy(), args, &scratch.to_string_lossy());
    let start = Instant::now();
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr_path)?)
        .spawn()
        .map_err(|e| PetriError::Setup(format!("cannot start {}: {e}", openvmm.display())))?;
    let reader = LineReader::spawn(child.stdout.take().expect("piped"));
    let deadline = start + vm.cfg.timeout;
    let mut console = String::new();
    let mut timed_out = false;
    let mut streamer = crate::lines::Streamer::default();
    loop {
        match reader.next(deadline) {
            Next::Line(l) => {
                if vm.cfg.stream {
                    streamer.line(&l);
                }
                console.push_str(&l);
                console.push('\n');
            }
            Next::Eof => break,
            Next::Timeout => {
                timed_out = true;
                let _ = child.kill();
                break;
            }
        }
    }
    let status = child.wait()?;
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    if vm.cfg.stream && !stderr.is_empty() {
        eprint!("{stderr}");
    }
    Ok(GuestRun::from_console(
        vm,
        HostMode::Direct,
        console,
        if timed_out { None } else { status.code() },
        timed_out,
        start.elapsed(),
        stderr,
    ))
}
