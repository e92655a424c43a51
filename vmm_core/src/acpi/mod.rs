//! The ACPI builder: turns a platform description into the tables the guest reads
//! (RSDP, XSDT, FADT, MADT, DSDT), laid out at a fixed guest address.

pub mod dmar;
mod dsdt;
mod fadt;
pub mod ivrs;
mod madt;
mod mcfg;
mod pci;

use acpi_spec::header::OEM_ID;
use acpi_spec::rsdp::Rsdp;
use acpi_spec::SdtHeader;
use acpi_spec::Table;
use zerocopy::IntoBytes;

/// A legacy serial port the DSDT describes.
#[derive(Debug, Clone, Copy)]
pub struct SerialDescription {
    /// I/O base.
    pub io_base: u16,
    /// ISA IRQ.
    pub irq: u8,
}

/// A PCI Express root complex the tables describe (MCFG entry, DSDT host bridge):
/// the same placement the root complex itself is built from.
pub use pci_core::RootComplexConfig as PciRootDescription;

/// What the tables describe.
#[derive(Debug, Clone)]
pub struct AcpiPlatform {
    /// APIC ids of the processors, in order.
    pub apic_ids: Vec<u32>,
    /// IOAPIC id.
    pub ioapic_id: u8,
    /// IOAPIC register base.
    pub ioapic_address: u32,
    /// Legacy serial ports.
    pub serial_ports: Vec<SerialDescription>,
    /// CMOS RTC I/O base.
    pub rtc_io_base: u16,
    /// CMOS RTC ISA IRQ.
    pub rtc_irq: u8,
    /// Sleep control/status register port.
    pub sleep_port: u16,
    /// Reset register port.
    pub reset_port: u16,
    /// Reset register value.
    pub reset_value: u8,
    /// SLP_TYP for S5.
    pub s5_slp_typ: u8,
    /// PCI Express root complexes.
    pub pci_roots: Vec<PciRootDescription>,
    /// Extra tables (already finished, e.g. DMAR/IVRS/IORT/MCFG) to list in the XSDT.
    pub extra_tables: Vec<Vec<u8>>,
}

/// The built tables: where each one lives in guest memory and its bytes.
#[derive(Debug, Clone)]
pub struct AcpiTables {
    /// Guest physical address of the RSDP.
    pub rsdp_address: u64,
    /// (guest address, bytes) of every blob, the RSDP first.
    pub blobs: Vec<(u64, Vec<u8>)>,
}

impl AcpiTables {
    /// Each system description table with its file name for `--dump-acpi` (`SIG.dat`,
    /// a number appended to repeated signatures). The RSDP is a pointer structure, not
    /// a table, and is left out.
    pub fn named(&self) -> Vec<(String, &[u8])> {
        let mut names: Vec<(String, &[u8])> = Vec::new();
        for (addr, bytes) in &self.blobs {
            if *addr == self.rsdp_address {
                continue;
            }
            let sig = String::from_utf8_lossy(&bytes[..4]).into_owned();
            let mut name = sig.clone();
            let mut n = 1;
            while names.iter().any(|(x, _)| *x == format!("{name}.dat")) {
                n += 1;
                name = format!("{sig}{n}");
            }
            names.push((format!("{name}.dat"), bytes));
        }
        names
    }

    /// Total span from the first blob to the end of the last.
    pub fn span(&self) -> u64 {
        self.blobs
            .iter()
            .map(|(a, b)| a + b.len() as u64)
            .max()
            .unwrap_or(self.rsdp_address)
            - self.rsdp_address
    }
}

fn align(x: u64) -> u64 {
    (x + 15) & !15
}

/// Builds all tables for `platform`, placed from `base` upwards.
pub fn build(platform: &AcpiPlatform, base: u64) -> AcpiTables {
    let rsdp_size = size_of::<Rsdp>() as u64;
    let mut next = align(base + rsdp_size);
    let mut place = |bytes: Vec<u8>, blobs: &mut Vec<(u64, Vec<u8>)>| -> u64 {
        let addr = next;
        next = align(next + bytes.len() as u64);
        blobs.push((addr, bytes));
        addr
    };

    let mut blobs = Vec::new();
    let dsdt_addr = place(dsdt::build(platform), &mut blobs);
    let fadt_addr = place(fadt::build(platform, dsdt_addr), &mut blobs);
    let mut xsdt_entries = vec![fadt_addr];
    xsdt_entries.push(place(madt::build(platform), &mut blobs));
    if !platform.pci_roots.is_empty() {
        xsdt_entries.push(place(mcfg::build(platform), &mut blobs));
    }
    for table in &platform.extra_tables {
        xsdt_entries.push(place(table.clone(), &mut blobs));
    }

    let mut xsdt = Table::new(SdtHeader::new(b"XSDT", 1));
    for entry in &xsdt_entries {
        xsdt.push(entry);
    }
    let xsdt_addr = place(xsdt.finish(), &mut blobs);

    let rsdp = Rsdp::new(OEM_ID, xsdt_addr);
    blobs.insert(0, (base, rsdp.as_bytes().to_vec()));
    AcpiTables {
        rsdp_address: base,
        blobs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn platform(n: u32) -> AcpiPlatform {
        AcpiPlatform {
            apic_ids: (0..n).collect(),
            ioapic_id: 0,
            ioapic_address: 0xfec0_0000,
            serial_ports: vec![
                SerialDescription {
                    io_base: 0x3f8,
                    irq: 4,
                },
                SerialDescription {
                    io_base: 0x2f8,
                    irq: 3,
                },
            ],
            rtc_io_base: 0x70,
            rtc_irq: 8,
            sleep_port: 0x600,
            reset_port: 0x601,
            reset_value: 1,
            s5_slp_typ: 5,
            pci_roots: vec![
                PciRootDescription {
                    name: "rc0".into(),
                    segment: 0,
                    start_bus: 0,
                    end_bus: 63,
                    ecam_base: 0xe000_0000,
                    low_mmio: (0xc000_0000, 0x1000_0000),
                    high_mmio: (0x100_0000_0000, 0x10_0000_0000),
                },
                PciRootDescription {
                    name: "rc1".into(),
                    segment: 1,
                    start_bus: 0,
                    end_bus: 15,
                    ecam_base: 0xe400_0000,
                    low_mmio: (0xd000_0000, 0x1000_0000),
                    high_mmio: (0x110_0000_0000, 0x10_0000_0000),
                },
            ],
            extra_tables: Vec::new(),
        }
    }

    fn sum(b: &[u8]) -> u8 {
        b.iter().fold(0u8, |a, x| a.wrapping_add(*x))
    }

    #[test]
    fn tables_checksum_and_link() {
        let t = build(&platform(2), 0xe0000);
        for (_, b) in &t.blobs {
            assert_eq!(sum(b), 0);
        }
        let names: Vec<_> = t.named().into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            ["DSDT.dat", "FACP.dat", "APIC.dat", "MCFG.dat", "XSDT.dat"]
        );
        // The RSDP points at the XSDT, which lists FADT and MADT.
        let rsdp = &t.blobs[0].1;
        let xsdt_addr = u64::from_le_bytes(rsdp[24..32].try_into().unwrap());
        let xsdt = &t.blobs.iter().find(|b| b.0 == xsdt_addr).unwrap().1;
        assert_eq!(&xsdt[..4], b"XSDT");
        assert_eq!(xsdt.len(), 36 + 24);
        assert!(t.span() < 0x20000);
    }

    /// Asserts that `iasl -d` decodes `bytes` without errors or warnings (skipped,
    /// loudly, when iasl is not installed).
    pub(crate) fn assert_iasl_clean(sig: &str, bytes: &[u8]) {
        if std::process::Command::new("iasl")
            .arg("-v")
            .output()
            .is_err()
        {
            eprintln!("SKIPPED: iasl not installed (apt-get install acpica-tools)");
            return;
        }
        let dir = std::env::temp_dir().join(format!("acpi-{sig}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let name = format!("{sig}.dat");
        std::fs::write(dir.join(&name), bytes).unwrap();
        let out = std::process::Command::new("iasl")
            .arg("-d")
            .arg(&name)
            .current_dir(&dir)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        std::fs::remove_dir_all(&dir).ok();
        assert!(out.status.success(), "{name}: {text}");
        for bad in ["Error", "Warning", "Incorrect", "Invalid", "Unknown"] {
            assert!(!text.contains(bad), "{name}: {text}");
        }
    }

    /// Every table decodes with `iasl -d` without errors or warnings (skipped, loudly,
    /// when iasl is not installed).
    #[test]
    fn iasl_decodes_tables() {
        let t = build(&platform(300), 0xe0000);
        for (name, bytes) in t.named() {
            assert_iasl_clean(name.trim_end_matches(".dat"), bytes);
        }
    }
}
