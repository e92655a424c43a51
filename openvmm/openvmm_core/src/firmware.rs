//! What the guest finds in memory at boot: the ACPI tables, the reset-entry stub,
//! and the kernel, initrd and command line.

use crate::config::VmConfig;
use crate::platform;
use crate::topology::Topology;
use anyhow::Context;
use guestmem::GuestMemory;
use vmm_core::chipset::power;
use vmm_core::kvm::regs::BootEntry;
use vmm_core::layout;
use vmm_core::loader;

/// Writes the firmware tables and loads the guest; returns how the boot vCPU starts.
pub fn load(
    config: &VmConfig,
    topology: &Topology,
    memory: &GuestMemory,
) -> anyhow::Result<BootEntry> {
    let tables = platform::tables_for(config, topology);
    anyhow::ensure!(
        layout::ACPI_START + tables.span() <= layout::BIOS_RESET_ENTRY,
        "ACPI tables do not fit below 1 MiB ({} bytes)",
        tables.span()
    );
    for (addr, bytes) in &tables.blobs {
        memory
            .write_at(*addr, bytes)
            .context("writing ACPI tables")?;
    }
    memory
        .write_at(layout::BIOS_RESET_ENTRY, &power::reset_entry_stub())
        .context("writing the reset entry stub")?;
    Ok(loader::load(
        memory,
        &loader::BootConfig {
            kernel: &config.kernel,
            initrd: config.initrd.as_deref(),
            cmdline: &config.cmdline,
            memory_size: config.memory,
            rsdp: tables.rsdp_address,
            reserved: &topology.ecam_ranges(),
        },
    )?)
}
