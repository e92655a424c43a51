//! `run [OPENVMM FLAGS] [--append "KERNEL ARGS"] [-- GUEST COMMAND...]`.

use petri::HostDecision;
use petri::PetriError;
use petri::PetriVmConfig;

const USAGE: &str = "\
usage: cargo xflowey run [OPENVMM FLAGS] [--append \"KERNEL ARGS\"] [-- GUEST COMMAND...]

Boots the default guest (Debian 6.1 kernel, busybox initramfs) under openvmm,
directly on hardware KVM or inside the QEMU TCG test host. Defaults:
--processors 2 --memory 1G. Without a guest command the guest prints its
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
    let mut cfg = PetriVmConfig::new("xflowey-run")
        .processors(r.processors.unwrap_or(2))
        .memory(r.memory.as_deref().unwrap_or("1G"))
        .kernel_args(&r.append)
        .vmm_args(&r.vmm)
        .stream(true);
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
