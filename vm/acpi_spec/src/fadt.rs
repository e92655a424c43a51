//! Fixed ACPI Description Table (ACPI 6.5, section 5.2.9), signature "FACP".

use crate::gas::Gas;
use zerocopy::FromBytes;
use zerocopy::Immutable;
use zerocopy::IntoBytes;
use zerocopy::KnownLayout;
use zerocopy::Unaligned;

/// FADT major revision (ACPI 6.x).
pub const FADT_REVISION: u8 = 6;
/// FADT minor revision (ACPI 6.5).
pub const FADT_MINOR_REVISION: u8 = 5;

/// Flags: WBINVD works (table 5.10, bit 0).
pub const FLAG_WBINVD: u32 = 1 << 0;
/// Flags: the power button is a control-method device (bit 4).
pub const FLAG_PWR_BUTTON: u32 = 1 << 4;
/// Flags: the sleep button is a control-method device (bit 5).
pub const FLAG_SLP_BUTTON: u32 = 1 << 5;
/// Flags: RESET_REG is supported (bit 10).
pub const FLAG_RESET_REG_SUP: u32 = 1 << 10;
/// Flags: hardware-reduced ACPI (bit 20).
pub const FLAG_HW_REDUCED_ACPI: u32 = 1 << 20;

/// IA-PC boot architecture: VGA not present (table 5.11, bit 2).
pub const IAPC_BOOT_VGA_NOT_PRESENT: u16 = 1 << 2;

/// The FADT after the common header (240 bytes; 276 with it).
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct FadtBody {
    /// 32-bit FACS address.
    pub firmware_ctrl: u32,
    /// 32-bit DSDT address.
    pub dsdt: u32,
    /// Reserved (was INT_MODEL).
    pub reserved0: u8,
    /// Preferred power management profile.
    pub preferred_pm_profile: u8,
    /// SCI interrupt.
    pub sci_int: u16,
    /// SMI command port.
    pub smi_cmd: u32,
    /// Value to enable ACPI.
    pub acpi_enable: u8,
    /// Value to disable ACPI.
    pub acpi_disable: u8,
    /// S4BIOS request value.
    pub s4bios_req: u8,
    /// P-state control value.
    pub pstate_cnt: u8,
    /// PM1a event block.
    pub pm1a_evt_blk: u32,
    /// PM1b event block.
    pub pm1b_evt_blk: u32,
    /// PM1a control block.
    pub pm1a_cnt_blk: u32,
    /// PM1b control block.
    pub pm1b_cnt_blk: u32,
    /// PM2 control block.
    pub pm2_cnt_blk: u32,
    /// PM timer block.
    pub pm_tmr_blk: u32,
    /// GPE0 block.
    pub gpe0_blk: u32,
    /// GPE1 block.
    pub gpe1_blk: u32,
    /// PM1 event block length.
    pub pm1_evt_len: u8,
    /// PM1 control block length.
    pub pm1_cnt_len: u8,
    /// PM2 control block length.
    pub pm2_cnt_len: u8,
    /// PM timer length.
    pub pm_tmr_len: u8,
    /// GPE0 block length.
    pub gpe0_blk_len: u8,
    /// GPE1 block length.
    pub gpe1_blk_len: u8,
    /// GPE1 base.
    pub gpe1_base: u8,
    /// C-state control value.
    pub cst_cnt: u8,
    /// C2 latency.
    pub p_lvl2_lat: u16,
    /// C3 latency.
    pub p_lvl3_lat: u16,
    /// Cache flush size.
    pub flush_size: u16,
    /// Cache flush stride.
    pub flush_stride: u16,
    /// Duty cycle offset.
    pub duty_offset: u8,
    /// Duty cycle width.
    pub duty_width: u8,
    /// RTC day alarm index.
    pub day_alrm: u8,
    /// RTC month alarm index.
    pub mon_alrm: u8,
    /// RTC century index.
    pub century: u8,
    /// IA-PC boot architecture flags.
    pub iapc_boot_arch: u16,
    /// Reserved.
    pub reserved1: u8,
    /// Fixed feature flags.
    pub flags: u32,
    /// Reset register.
    pub reset_reg: Gas,
    /// Value to write to the reset register.
    pub reset_value: u8,
    /// Arm boot architecture flags.
    pub arm_boot_arch: u16,
    /// FADT minor version.
    pub minor_version: u8,
    /// 64-bit FACS address.
    pub x_firmware_ctrl: u64,
    /// 64-bit DSDT address.
    pub x_dsdt: u64,
    /// Extended PM1a event block.
    pub x_pm1a_evt_blk: Gas,
    /// Extended PM1b event block.
    pub x_pm1b_evt_blk: Gas,
    /// Extended PM1a control block.
    pub x_pm1a_cnt_blk: Gas,
    /// Extended PM1b control block.
    pub x_pm1b_cnt_blk: Gas,
    /// Extended PM2 control block.
    pub x_pm2_cnt_blk: Gas,
    /// Extended PM timer block.
    pub x_pm_tmr_blk: Gas,
    /// Extended GPE0 block.
    pub x_gpe0_blk: Gas,
    /// Extended GPE1 block.
    pub x_gpe1_blk: Gas,
    /// Sleep control register (hardware-reduced ACPI).
    pub sleep_control_reg: Gas,
    /// Sleep status register (hardware-reduced ACPI).
    pub sleep_status_reg: Gas,
    /// Hypervisor vendor identity.
    pub hypervisor_vendor_id: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size() {
        assert_eq!(size_of::<FadtBody>() + 36, 276);
    }
}
