//! `run [OPENVMM FLAGS] [--append "KERNEL ARGS"] [-- GUEST COMMAND...]`.

use petri::HostDecision;
use petri::PetriError;
use petri::PetriVmConfig;

const USAGE: &str = "\
usage: cargo xflowey run [OPENVMM FLAGS] [--append \"KERNEL ARGS\"] [-- GUEST COMMAND...]

Boots the default guest (Debian 6.1 kernel, busybox initramfs) under openvmm,
directly on hardware KVM or inside the QEMU TCG test host. Defaults:
--processors 2 --memory 1G, the default root complex rc0 behind an emulated
Intel VT-d unit (--intel-vtd rc0, guest intel_iommu=on) with a DMA test device;
and a 64 MiB scratch disk (virtio-blk, /dev/vda; --no-disk to leave it out);
give --amd-iommu RC, --intel-vtd RC or --no-iommu to choose otherwise
(--intel-vtd always adds intel_iommu=on). Without a guest command the guest prints its
IOMMU / interrupt-remapping report; with one, its output is streamed and its
exit status becomes this command's. Examples:
  cargo xflowey run
  cargo xflowey run --processors 4 --append iommu.strict=1
  cargo xflowey run -- uname -r";

/// Parsed `run` arguments.
#[derive(Debug, Default, PartialEq)]
pub struct RunArgs {
    /// `--processors`, if given.
    pub processors: Option<u32>,
    /// `--memory`, if given.
    pub memory: Option<String>,
    /// Extra kernel arguments.
    pub append: Vec<String>,
    /// Other openvmm flags.
    pub vmm: Vec<String>,
    /// The guest command after `--`.
    pub command: Vec<String>,
    /// `-h`/`--help` was given.
    pub help: bool,
    /// `--no-iommu`: no default IOMMU.
    pub no_iommu: bool,
    /// `--no-disk`: no default disk.
    pub no_disk: bool,
}

impl RunArgs {
    /// openvmm flags and kernel arguments with the defaults applied: the default root
    /// complex behind VT-d unless an IOMMU was chosen, and `intel_iommu=on` whenever
    /// VT-d is present (the Debian kernel leaves it off by default).
    pub fn effective(&self) -> (Vec<String>, Vec<String>) {
        let mut vmm = self.vmm.clone();
        let mut append = self.append.clone();
        let chose = |flag: &str| {
            vmm.iter()
                .any(|a| a == flag || a.starts_with(&format!("{flag}=")))
        };
        if !self.no_iommu && !chose("--amd-iommu") && !chose("--intel-vtd") {
            vmm.extend(["--intel-vtd".to_string(), "rc0".to_string()]);
        }
        let vtd = vmm
            .iter()
            .any(|a| a == "--intel-vtd" || a.starts_with("--intel-vtd="));
        if vtd && !append.iter().any(|a| a.starts_with("intel_iommu=")) {
            append.push("intel_iommu=on".into());
        }
        (vmm, append)
    }
}

/// Splits the arguments; `Err` names a flag without its value.
pub fn parse(args: &[String]) -> Result<RunArgs, String> {
    let mut r = RunArgs::default();
    let (flags, command) = match args.iter().position(|a| a == "--") {
        Some(i) => (&args[..i], &args[i + 1..]),
        None => (args, &args[args.len()..]),
    };
    r.command = command.to_vec();
    let mut it = flags.iter();
    while let Some(a) = it.next() {
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (a.as_str(), None),
        };
        let mut value = |n: &str| -> Result<String, String> {
            match &inline {
                Some(v) => Ok(v.clone()),
                None => it.next().cloned().ok_or(format!("{n} needs a value")),
            }
        };
        match name {
            "-h" | "--help" => r.help = true,
            "--append" => r
                .append
                .extend(value(name)?.split_whitespace().map(str::to_string)),
            "--processors" => {
                let v = value(name)?;
                r.processors = Some(
                    v.parse()
                        .map_err(|_| format!("--processors {v}: not a number"))?,
                );
            }
            "--memory" => r.memory = Some(value(name)?),
            "--no-iommu" => r.no_iommu = true,
            "--no-disk" => r.no_disk = true,
            _ => r.vmm.push(a.clone()),
        }
    }
    Ok(r)
}

/// Runs the command; returns the exit status.
pub fn main(args: &[String]) -> anyhow::Result<i32> {
    let r = match parse(args) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("flowey run: {e}\n\n{USAGE}");
            return Ok(2);
        }
    };
    if r.help {
        println!("{USAGE}");
        return Ok(0);
    }
    crate::artifacts::restore(false)?;
    crate::cargo::build_openvmm_release()?;
    match petri::host_decision() {
        // petri prints the host mode line itself.
        HostDecision::Use(..) => {}
        HostDecision::Skip(why) => {
            eprintln!("flowey: cannot boot a guest on this machine: {why}");
            return Ok(1);
        }
        HostDecision::BadOverride(why) => anyhow::bail!(why),
    }
    let (vmm, append) = r.effective();
    let mut cfg = PetriVmConfig::new("xflowey-run")
        .processors(r.processors.unwrap_or(2))
        .memory(r.memory.as_deref().unwrap_or("1G"))
        .kernel_args(&append)
        .vmm_args(&vmm)
        .stream(true);
    // The default guest's disk: a 64 MiB scratch image on a new root port of rc0.
    if !r.no_disk
        && !vmm
            .iter()
            .any(|a| a == "--disk" || a.starts_with("--disk="))
    {
        cfg = cfg.disk("disk0", 64, None);
    }
    if !r.command.is_empty() {
        cfg = cfg.command_argv(&r.command);
    }
    let run = match cfg.run() {
        Ok(run) => run,
        Err(e @ PetriError::Infrastructure { .. }) => {
            eprintln!("flowey: {e}");
            return Ok(1);
        }
        Err(e) => anyhow::bail!(e),
    };
    eprintln!(
        "flowey: openvmm exit status {}, guest command exit code {}, {:.1}s; console log {}",
        run.vmm_status.map_or("none".into(), |s| s.to_string()),
        run.guest_exit.map_or("none".into(), |s| s.to_string()),
        run.duration.as_secs_f64(),
        run.log_dir.join("console.log").display()
    );
    if run.timed_out {
        eprintln!(
            "flowey: the guest timed out (PETRI_GUEST_TIMEOUT={}s)",
            run.duration.as_secs()
        );
        return Ok(124);
    }
    if let Some(code) = run.guest_exit {
        return Ok(code);
    }
    // No sentinel: the command powered off or reset the guest itself, or the
    // VMM failed. openvmm's status tells which.
    match run.vmm_status {
        Some(0) => Ok(0),
        Some(petri::EXIT_RESET) => {
            eprintln!("flowey: the guest reset");
            Ok(petri::EXIT_RESET)
        }
        Some(s) => {
            eprintln!("flowey: openvmm failed (exit status {s})");
            Ok(if s == 0 { 1 } else { s })
        }
        None => Ok(1),
    }
}

#[cfg(test)]
mod default_tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn default_iommu_is_vtd() {
        let (vmm, append) = parse(&[]).unwrap().effective();
        assert_eq!(vmm, v(&["--intel-vtd", "rc0"]));
        assert_eq!(append, v(&["intel_iommu=on"]));
        let (vmm, append) = parse(&v(&["--amd-iommu", "rc0"])).unwrap().effective();
        assert_eq!(vmm, v(&["--amd-iommu", "rc0"]));
        assert!(append.is_empty());
        let (vmm, _) = parse(&v(&["--no-iommu"])).unwrap().effective();
        assert!(vmm.is_empty());
        let (_, append) = parse(&v(&["--intel-vtd", "rc0", "--append", "intel_iommu=off"]))
            .unwrap()
            .effective();
        assert_eq!(append, v(&["intel_iommu=off"]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn splits_flags_append_and_command() {
        let r = parse(&v(&[
            "--processors",
            "4",
            "--append",
            "iommu.strict=1 quiet",
            "--intel-iommu",
            "--memory=2G",
            "--",
            "sh",
            "-c",
            "exit 3",
        ]))
        .unwrap();
        assert_eq!(r.processors, Some(4));
        assert_eq!(r.memory.as_deref(), Some("2G"));
        assert_eq!(r.append, v(&["iommu.strict=1", "quiet"]));
        assert_eq!(r.vmm, v(&["--intel-iommu"]));
        assert_eq!(r.command, v(&["sh", "-c", "exit 3"]));
    }

    #[test]
    fn command_only_and_errors() {
        let r = parse(&v(&["--", "uname", "-r"])).unwrap();
        assert_eq!(r.command, v(&["uname", "-r"]));
        assert!(r.vmm.is_empty());
        // Flags after `--` belong to the guest command.
        let r = parse(&v(&["--", "ls", "--append"])).unwrap();
        assert_eq!(r.command, v(&["ls", "--append"]));
        assert!(parse(&v(&["--append"])).is_err());
        assert!(parse(&v(&["--processors", "x"])).is_err());
    }
}
