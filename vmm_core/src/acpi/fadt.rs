//! FADT: hardware-reduced ACPI with sleep control/status and reset registers.

use super::AcpiPlatform;
use acpi_spec::fadt::*;
use acpi_spec::gas::Gas;
use acpi_spec::SdtHeader;
use acpi_spec::Table;

pub(super) fn build(p: &AcpiPlatform, dsdt: u64) -> Vec<u8> {
    let mut t = Table::new(SdtHeader::new(b"FACP", FADT_REVISION));
    t.push(&FadtBody {
        dsdt: 0,
        x_dsdt: dsdt,
        flags: FLAG_WBINVD
            | FLAG_PWR_BUTTON
            | FLAG_SLP_BUTTON
            | FLAG_RESET_REG_SUP
            | FLAG_HW_REDUCED_ACPI,
        iapc_boot_arch: IAPC_BOOT_VGA_NOT_PRESENT,
        reset_reg: Gas::io_byte(p.reset_port),
        reset_value: p.reset_value,
        minor_version: FADT_MINOR_REVISION,
        sleep_control_reg: Gas::io_byte(p.sleep_port),
        sleep_status_reg: Gas::io_byte(p.sleep_port),
        hypervisor_vendor_id: u64::from_le_bytes(*b"OpenVMM\0"),
        ..Default::default()
    });
    t.finish()
}
