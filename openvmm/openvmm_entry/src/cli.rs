//! The command line: parsed into `openvmm_core::VmConfig`. Every bad value is reported
//! in one line naming the flag and the forms it accepts.

use crate::topology_args;
use clap::Parser;
use openvmm_core::topology::DeviceSpec;
use openvmm_core::topology::IommuSpec;
use openvmm_core::topology::RootComplexSpec;
use openvmm_core::topology::RootPortSpec;
use openvmm_core::topology::TopologySpec;
use openvmm_core::SerialConfig;
use std::path::PathBuf;

/// A KVM virtual machine monitor with emulated IOMMUs.
#[derive(Parser, Debug)]
#[command(name = "openvmm", version, about)]
pub struct Cli {
    /// Guest kernel: a bzImage, or an uncompressed vmlinux with a PVH entry (faster).
    #[arg(long, value_name = "PATH", required_unless_present_any = ["dump_acpi", "smmu"])]
    pub kernel: Option<PathBuf>,

    /// Initial ramdisk.
    #[arg(long, value_name = "PATH")]
    pub initrd: Option<PathBuf>,

    /// Kernel command line.
    #[arg(long, value_name = "STR", default_value = "console=ttyS0")]
    pub cmdline: String,

    /// Guest memory size, e.g. 512M or 2G (suffixes K, M, G; at least 64M).
    #[arg(long, value_name = "SIZE", default_value = "1G", value_parser = parse_memory)]
    pub memory: u64,

    /// Number of virtual processors (1 to 1024).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = parse_processors)]
    pub processors: u32,

    /// COM1 (ttyS0): stdio, file=PATH or none.
    #[arg(long, value_name = "stdio|file=PATH|none", default_value = "stdio", value_parser = parse_serial)]
    pub com1: SerialConfig,

    /// COM2 (ttyS1): stdio, file=PATH or none.
    #[arg(long, value_name = "stdio|file=PATH|none", default_value = "none", value_parser = parse_serial)]
    pub com2: SerialConfig,

    /// Add a PCI Express root complex (repeatable; without any, the default rc0 on segment 0).
    #[arg(long = "pcie-root-complex", value_name = "NAME[,segment=N][,start_bus=N][,end_bus=N][,low_mmio=SIZE][,high_mmio=SIZE]", value_parser = topology_args::parse_root_complex)]
    pub pcie_root_complex: Vec<RootComplexSpec>,

    /// Add a root port to a root complex (repeatable); ACS capabilities as a bit mask.
    #[arg(long = "pcie-root-port", value_name = "RC:NAME[,acs=MASK]", value_parser = topology_args::parse_root_port)]
    pub pcie_root_port: Vec<RootPortSpec>,

    /// Add a virtio-blk disk backed by a raw file (repeatable; without pcie_port, on a new port of the first root complex).
    #[arg(long, value_name = "file=PATH[,pcie_port=NAME][,ro]", value_parser = topology_args::parse_disk)]
    pub disk: Vec<DeviceSpec>,

    /// Add the DMA test device (repeatable). Without any topology flag, one is added on a new port.
    #[arg(long = "dma-test", value_name = "pcie_port=NAME|auto", value_parser = topology_args::parse_dma_test)]
    pub dma_test: Vec<DeviceSpec>,

    /// Put a root complex behind an emulated AMD IOMMU (repeatable, one per root complex).
    #[arg(long = "amd-iommu", value_name = "RC[,intremap=on|off][,xtsup=on|off]", value_parser = topology_args::parse_amd_iommu)]
    pub amd_iommu: Vec<IommuSpec>,

    /// Put a root complex behind an emulated Intel VT-d unit (repeatable, one per root complex).
    #[arg(long = "intel-vtd", value_name = "RC[,intremap=on|off][,eim=on|off][,aw-bits=39|48][,dma-translation=on|off]", value_parser = topology_args::parse_intel_vtd)]
    pub intel_vtd: Vec<IommuSpec>,

    /// Arm SMMUv3 for a root complex. Refused here: it needs an aarch64 guest.
    #[arg(long, value_name = "rc=RC[,oas=N]", value_parser = topology_args::parse_smmu)]
    pub smmu: Vec<topology_args::SmmuArg>,

    /// Write every ACPI table this configuration gives the guest to DIR as SIG.dat, then exit.
    #[arg(long, value_name = "DIR")]
    pub dump_acpi: Option<PathBuf>,
}

impl Cli {
    /// The topology the flags describe (with the default DMA test device when no
    /// topology flag was given).
    pub fn topology(&self) -> TopologySpec {
        let mut devices = self.disk.clone();
        devices.extend(self.dma_test.iter().cloned());
        if self.pcie_root_complex.is_empty()
            && self.pcie_root_port.is_empty()
            && self.dma_test.is_empty()
            && self.disk.iter().all(|d| d.port.is_none())
        {
            devices.push(DeviceSpec {
                port: None,
                endpoint: openvmm_core::topology::EndpointSpec::DmaTest,
            });
        }
        TopologySpec {
            root_complexes: self.pcie_root_complex.clone(),
            root_ports: self.pcie_root_port.clone(),
            devices,
            iommus: self
                .amd_iommu
                .iter()
                .chain(&self.intel_vtd)
                .cloned()
                .collect(),
        }
    }
}

/// Parses a size with an optional K/M/G suffix (binary units).
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (digits, shift) = match s.char_indices().last()? {
        (i, 'K' | 'k') => (&s[..i], 10),
        (i, 'M' | 'm') => (&s[..i], 20),
        (i, 'G' | 'g') => (&s[..i], 30),
        _ => (s, 0),
    };
    let n: u64 = digits.parse().ok()?;
    n.checked_mul(1 << shift)
}

fn parse_memory(s: &str) -> Result<u64, String> {
    const FORMS: &str =
        "expected a size like 512M or 2G (K, M, G suffixes; 64M to 1024G, a multiple of 2M)";
    let bytes = parse_size(s).ok_or(FORMS)?;
    if !(64 << 20..=1 << 40).contains(&bytes) || bytes % (2 << 20) != 0 {
        return Err(FORMS.into());
    }
    Ok(bytes)
}

fn parse_processors(s: &str) -> Result<u32, String> {
    match s.parse::<u32>() {
        Ok(n) if (1..=1024).contains(&n) => Ok(n),
        _ => Err("expected a number of processors from 1 to 1024".into()),
    }
}

fn parse_serial(s: &str) -> Result<SerialConfig, String> {
    match s {
        "stdio" => Ok(SerialConfig::Stdio),
        "none" => Ok(SerialConfig::None),
        _ => match s.strip_prefix("file=") {
            Some(path) if !path.is_empty() => Ok(SerialConfig::File(path.into())),
            _ => Err("expected stdio, file=PATH or none".into()),
        },
    }
}

/// Turns a clap error into one line (the usage and help hints dropped).
pub fn one_line_error(err: &clap::Error) -> String {
    let text = err.to_string();
    let mut parts = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with("Usage:") || line.starts_with("For more information")
        {
            continue;
        }
        parts.push(line.trim_start_matches("error: ").to_string());
    }
    format!("openvmm: {}", parts.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, String> {
        Cli::try_parse_from(std::iter::once("openvmm").chain(args.iter().copied()))
            .map_err(|e| one_line_error(&e))
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512M"), Some(512 << 20));
        assert_eq!(parse_size("2G"), Some(2 << 30));
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("G"), None);
        assert_eq!(parse_size("99999999999G"), None);
        assert_eq!(parse_size(""), None);
    }

    #[test]
    fn good_command_line() {
        let cli = parse(&[
            "--kernel",
            "k",
            "--memory",
            "2G",
            "--processors",
            "2",
            "--com1",
            "file=/tmp/x",
            "--com2",
            "stdio",
        ])
        .unwrap();
        assert_eq!(cli.memory, 2 << 30);
        assert_eq!(cli.com1, SerialConfig::File("/tmp/x".into()));
        assert_eq!(cli.com2, SerialConfig::Stdio);
    }

    #[test]
    fn bad_values_name_flag_and_forms_in_one_line() {
        for (args, flag, forms) in [
            (
                &["--kernel", "k", "--memory", "lots"][..],
                "--memory",
                "512M or 2G",
            ),
            (
                &["--kernel", "k", "--memory", "1M"][..],
                "--memory",
                "512M or 2G",
            ),
            (
                &["--kernel", "k", "--processors", "0"][..],
                "--processors",
                "1 to 1024",
            ),
            (
                &["--kernel", "k", "--com1", "tcp"][..],
                "--com1",
                "file=PATH",
            ),
            (
                &["--kernel", "k", "--com2", "file="][..],
                "--com2",
                "file=PATH",
            ),
        ] {
            let err = parse(args).unwrap_err();
            assert!(!err.contains('\n'), "{err}");
            assert!(err.contains(flag) && err.contains(forms), "{err}");
        }
        let err = parse(&[]).unwrap_err();
        assert!(err.contains("--kernel") && !err.contains('\n'), "{err}");
        assert!(parse(&["--dump-acpi", "/tmp/d"]).is_ok());
    }
}
