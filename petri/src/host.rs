//! Choosing how guests are booted on this machine.
//!
//! - [`HostMode::Direct`]: `/dev/kvm` is hardware-backed (VT-x or SVM in
//!   `/proc/cpuinfo`, and no `kvm_pvm` module): openvmm runs directly.
//! - [`HostMode::TestHost`]: otherwise, an L1 Linux runs under QEMU TCG with
//!   emulated SVM, and openvmm runs inside it on nested KVM.
//!
//! `PETRI_HOST=direct|testhost|skip` overrides the choice.

use std::fmt;
use std::path::Path;

/// Environment variable that overrides the host mode.
pub const HOST_ENV: &str = "PETRI_HOST";
/// The QEMU binary used for the test host (overridable with `PETRI_QEMU`).
pub const DEFAULT_QEMU: &str = "qemu-system-x86_64";

/// How guests are booted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostMode {
    /// openvmm on the host's hardware KVM.
    Direct,
    /// openvmm inside an L1 Linux under QEMU TCG (nested KVM on emulated SVM).
    TestHost,
}

impl fmt::Display for HostMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HostMode::Direct => "direct",
            HostMode::TestHost => "testhost",
        })
    }
}

/// Facts about the machine that decide the host mode (injectable for tests).
#[derive(Debug, Clone, Default)]
pub struct HostFacts {
    /// `PETRI_HOST`, if set.
    pub override_env: Option<String>,
    /// The flags of the first CPU in `/proc/cpuinfo`.
    pub cpu_flags: String,
    /// `/sys/module/kvm_pvm` exists.
    pub kvm_pvm: bool,
    /// `/dev/kvm` exists.
    pub dev_kvm: bool,
    /// The QEMU binary was found.
    pub qemu: bool,
}

impl HostFacts {
    /// Reads the facts from this machine.
    pub fn probe() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_flags = cpuinfo
            .lines()
            .find(|l| l.starts_with("flags"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, f)| f.to_string())
            .unwrap_or_default();
        Self {
            override_env: std::env::var(HOST_ENV).ok().filter(|s| !s.is_empty()),
            cpu_flags,
            kvm_pvm: Path::new("/sys/module/kvm_pvm").exists(),
            dev_kvm: Path::new("/dev/kvm").exists(),
            qemu: find_in_path(&qemu_binary()).is_some(),
        }
    }

    /// VT-x or SVM is advertised.
    pub fn hw_virt(&self) -> bool {
        self.cpu_flags
            .split_whitespace()
            .any(|f| f == "vmx" || f == "svm")
    }
}

/// The decision, with a one-line reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostDecision {
    /// Boot guests this way.
    Use(HostMode, String),
    /// No way to boot guests here; the reason says what is missing.
    Skip(String),
    /// `PETRI_HOST` has a value petri does not know.
    BadOverride(String),
}

/// Decides the host mode from the facts.
pub fn decide(f: &HostFacts) -> HostDecision {
    if let Some(o) = &f.override_env {
        return match o.as_str() {
            "direct" => HostDecision::Use(HostMode::Direct, format!("{HOST_ENV}=direct")),
            "testhost" => HostDecision::Use(HostMode::TestHost, format!("{HOST_ENV}=testhost")),
            "skip" => HostDecision::Skip(format!("{HOST_ENV}=skip")),
            other => HostDecision::BadOverride(format!(
                "{HOST_ENV}={other} is not one of direct, testhost, skip"
            )),
        };
    }
    if f.dev_kvm && f.hw_virt() && !f.kvm_pvm {
        return HostDecision::Use(
            HostMode::Direct,
            "/dev/kvm is hardware-backed (vmx/svm present, no kvm_pvm)".into(),
        );
    }
    let why = if !f.dev_kvm {
        "no /dev/kvm"
    } else if f.kvm_pvm {
        "/dev/kvm is PVM (software), kvm_pvm loaded"
    } else {
        "no vmx/svm in /proc/cpuinfo"
    };
    if f.qemu {
        HostDecision::Use(
            HostMode::TestHost,
            format!("{why}: booting an L1 test host under QEMU TCG with nested KVM"),
        )
    } else {
        HostDecision::Skip(format!(
            "{why}, and {} is not installed (apt-get install qemu-system-x86)",
            qemu_binary()
        ))
    }
}

/// The QEMU binary to use (`PETRI_QEMU` or `qemu-system-x86_64`).
pub fn qemu_binary() -> String {
    std::env::var("PETRI_QEMU").unwrap_or_else(|_| DEFAULT_QEMU.to_string())
}

/// Finds a program in `PATH` (or returns it if it is a path that exists).
pub fn find_in_path(prog: &str) -> Option<std::path::PathBuf> {
    if prog.contains('/') {
        let p = Path::new(prog);
        return p.exists().then(|| p.to_path_buf());
    }
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(prog))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(flags: &str, pvm: bool, kvm: bool, qemu: bool) -> HostFacts {
        HostFacts {
            override_env: None,
            cpu_flags: flags.into(),
            kvm_pvm: pvm,
            dev_kvm: kvm,
            qemu,
        }
    }

    #[test]
    fn hardware_kvm_is_direct() {
        let d = decide(&facts("fpu vme vmx sse", false, true, false));
        assert!(matches!(d, HostDecision::Use(HostMode::Direct, _)));
        let d = decide(&facts("fpu svm", false, true, true));
        assert!(matches!(d, HostDecision::Use(HostMode::Direct, _)));
    }

    #[test]
    fn pvm_uses_test_host() {
        // PVM: no vmx/svm and kvm_pvm loaded.
        let d = decide(&facts("fpu sse", true, true, true));
        assert!(matches!(d, HostDecision::Use(HostMode::TestHost, _)));
        // kvm_pvm loaded even if a flag is advertised.
        let d = decide(&facts("fpu svm", true, true, true));
        assert!(matches!(d, HostDecision::Use(HostMode::TestHost, _)));
        // Flag-matching is per word: "svmx" is not "svm".
        let d = decide(&facts("fpu svmx", false, true, true));
        assert!(matches!(d, HostDecision::Use(HostMode::TestHost, _)));
    }

    #[test]
    fn nothing_usable_skips_with_reason() {
        match decide(&facts("fpu", true, true, false)) {
            HostDecision::Skip(why) => assert!(why.contains("qemu-system-x86"), "{why}"),
            d => panic!("{d:?}"),
        }
        assert!(matches!(
            decide(&facts("", false, false, false)),
            HostDecision::Skip(_)
        ));
    }

    #[test]
    fn override_wins() {
        let mut f = facts("fpu vmx", false, true, false);
        f.override_env = Some("testhost".into());
        assert!(matches!(
            decide(&f),
            HostDecision::Use(HostMode::TestHost, _)
        ));
        f.override_env = Some("direct".into());
        assert!(matches!(decide(&f), HostDecision::Use(HostMode::Direct, _)));
        f.override_env = Some("skip".into());
        assert!(matches!(decide(&f), HostDecision::Skip(_)));
        f.override_env = Some("bogus".into());
        assert!(matches!(decide(&f), HostDecision::BadOverride(_)));
    }
}
