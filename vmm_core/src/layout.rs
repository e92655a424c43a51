//! The guest physical address map: RAM below and above the 32-bit MMIO hole, fixed
//! addresses of boot structures, and the MMIO hole's platform devices.

/// Start of the 32-bit MMIO hole; RAM below 4 GiB ends here at the latest.
pub const MMIO_HOLE_START: u64 = 0xC000_0000;
/// End of the 32-bit MMIO hole (exclusive): 4 GiB.
pub const MMIO_HOLE_END: u64 = 0x1_0000_0000;
/// IOAPIC register window.
pub const IOAPIC_BASE: u64 = 0xFEC0_0000;
/// Size of the IOAPIC register window.
pub const IOAPIC_SIZE: u64 = 0x1000;
/// Local APIC base (in-kernel, KVM).
pub const LAPIC_BASE: u64 = 0xFEE0_0000;

/// GDT used by the boot vCPU.
pub const BOOT_GDT: u64 = 0x500;
/// IDT (empty) used by the boot vCPU.
pub const BOOT_IDT: u64 = 0x520;
/// PVH start-info structure.
pub const PVH_START_INFO: u64 = 0x6000;
/// PVH memory map entries (after the start info).
pub const PVH_MEMMAP: u64 = 0x6040;
/// Linux zero page (boot_params).
pub const ZERO_PAGE: u64 = 0x7000;
/// Initial stack pointer.
pub const BOOT_STACK: u64 = 0x8ff0;
/// Identity-map page tables: PML4, PDPT, and four page directories (first 4 GiB, 2 MiB pages).
pub const PML4: u64 = 0x9000;
/// Page-directory-pointer table.
pub const PDPT: u64 = 0xA000;
/// First of four page directories.
pub const PD: u64 = 0xB000;
/// Kernel command line.
pub const CMDLINE: u64 = 0x20000;
/// Largest kernel command line accepted (x86 COMMAND_LINE_SIZE).
pub const CMDLINE_MAX: usize = 2048;
/// End of conventional low memory (the EBDA starts here).
pub const EBDA_START: u64 = 0x9FC00;
/// ACPI tables (RSDP first) in the legacy BIOS area the kernel scans.
pub const ACPI_START: u64 = 0xE0000;
/// End of the ACPI area.
pub const ACPI_END: u64 = 0x100000;
/// The BIOS reset entry (F000:FFF0) a real-mode far jump to the firmware lands on.
pub const BIOS_RESET_ENTRY: u64 = 0xFFFF0;
/// Where the kernel is loaded (1 MiB).
pub const KERNEL_START: u64 = 0x100000;

/// One RAM range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RamRange {
    /// Guest physical start.
    pub start: u64,
    /// Length in bytes.
    pub len: u64,
}

impl RamRange {
    /// End address (exclusive).
    pub fn end(&self) -> u64 {
        self.start + self.len
    }
}

/// Splits `memory_size` bytes of RAM around the MMIO hole.
pub fn ram_ranges(memory_size: u64) -> Vec<RamRange> {
    let low = memory_size.min(MMIO_HOLE_START);
    let mut ranges = vec![RamRange { start: 0, len: low }];
    if memory_size > low {
        ranges.push(RamRange {
            start: MMIO_HOLE_END,
            len: memory_size - low,
        });
    }
    ranges
}

/// An e820 / PVH memory map entry type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoryType {
    /// Usable RAM.
    Ram,
    /// Reserved.
    Reserved,
}

/// Start of the ECAM area (PCI Express configuration windows) in the MMIO hole.
pub const ECAM_START: u64 = 0xE000_0000;
/// End of the ECAM area (exclusive).
pub const ECAM_END: u64 = 0xF000_0000;
/// Start of the area for 32-bit PCI MMIO windows.
pub const PCI_LOW_MMIO_START: u64 = MMIO_HOLE_START;
/// End of the area for 32-bit PCI MMIO windows (exclusive).
pub const PCI_LOW_MMIO_END: u64 = ECAM_START;
/// Lowest address for 64-bit PCI MMIO windows (they also start above RAM).
pub const PCI_HIGH_MMIO_MIN: u64 = 64 << 30;

/// Where 64-bit PCI MMIO windows start for a guest with `memory_size` bytes of RAM.
pub fn pci_high_mmio_start(memory_size: u64) -> u64 {
    let ram_end = ram_ranges(memory_size).last().map_or(0, |r| r.end());
    ram_end.max(PCI_HIGH_MMIO_MIN).next_multiple_of(1 << 30)
}

/// The guest memory map as firmware reports it (e820 / PVH memmap), with `reserved`
/// ranges (ECAM windows) marked so the guest trusts them.
pub fn memory_map(memory_size: u64, reserved: &[(u64, u64)]) -> Vec<(u64, u64, MemoryType)> {
    let ranges = ram_ranges(memory_size);
    let low = ranges[0];
    let mut map = vec![
        (0, EBDA_START, MemoryType::Ram),
        (EBDA_START, ACPI_END - EBDA_START, MemoryType::Reserved),
        (KERNEL_START, low.end() - KERNEL_START, MemoryType::Ram),
    ];
    for &(start, len) in reserved {
        map.push((start, len, MemoryType::Reserved));
    }
    if let Some(high) = ranges.get(1) {
        map.push((high.start, high.len, MemoryType::Ram));
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_memory_is_one_range() {
        assert_eq!(
            ram_ranges(512 << 20),
            vec![RamRange {
                start: 0,
                len: 512 << 20
            }]
        );
    }

    #[test]
    fn large_memory_splits_around_hole() {
        let r = ram_ranges(4 << 30);
        assert_eq!(r[0].end(), MMIO_HOLE_START);
        assert_eq!(r[1].start, MMIO_HOLE_END);
        assert_eq!(r[0].len + r[1].len, 4 << 30);
    }

    #[test]
    fn memory_map_covers_ram() {
        let map = memory_map(1 << 30, &[(ECAM_START, 1 << 20)]);
        let ram: u64 = map
            .iter()
            .filter(|e| e.2 == MemoryType::Ram)
            .map(|e| e.1)
            .sum();
        assert_eq!(ram, (1 << 30) - (ACPI_END - EBDA_START));
    }
}

#[cfg(test)]
mod high_mmio_tests {
    use super::*;

    #[test]
    fn high_mmio_above_ram_and_minimum() {
        assert_eq!(pci_high_mmio_start(1 << 30), PCI_HIGH_MMIO_MIN);
        assert_eq!(pci_high_mmio_start(100 << 30), 101 << 30);
    }
}
