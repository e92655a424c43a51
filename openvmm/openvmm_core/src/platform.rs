//! The fixed platform every VM gets: where the chipset devices live and the ACPI
//! description of them, derived from the configuration (one source of truth).

use crate::config::VmConfig;
use vmm_core::acpi;
use vmm_core::acpi::AcpiPlatform;
use vmm_core::acpi::SerialDescription;
use vmm_core::chipset::cmos;
use vmm_core::chipset::power;
use vmm_core::chipset::serial;
use vmm_core::layout;

/// IOAPIC id in the MADT.
pub const IOAPIC_ID: u8 = 0;

/// The platform the ACPI tables describe for `config`.
pub fn acpi_platform(config: &VmConfig) -> AcpiPlatform {
    AcpiPlatform {
        apic_ids: config.apic_ids(),
        ioapic_id: IOAPIC_ID,
        ioapic_address: layout::IOAPIC_BASE as u32,
        serial_ports: vec![
            SerialDescription {
                io_base: serial::COM1_BASE,
                irq: serial::COM1_IRQ,
            },
            SerialDescription {
                io_base: serial::COM2_BASE,
                irq: serial::COM2_IRQ,
            },
        ],
        rtc_io_base: cmos::CMOS_BASE,
        rtc_irq: cmos::CMOS_IRQ,
        sleep_port: power::SLEEP_PORT,
        reset_port: power::RESET_PORT,
        reset_value: power::RESET_VALUE,
        s5_slp_typ: power::S5_SLP_TYP,
        extra_tables: Vec::new(),
    }
}

/// The ACPI tables `config` gives the guest, at their guest addresses.
pub fn acpi_tables(config: &VmConfig) -> acpi::AcpiTables {
    acpi::build(&acpi_platform(config), layout::ACPI_START)
}
