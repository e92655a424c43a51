//! The VMM core: KVM backend, guest memory layout, kernel loading, the legacy chipset
//! (IOAPIC, UARTs, CMOS, power control) and the ACPI builder.

pub mod acpi;

/// Port and MMIO dispatch (re-exported from `device_bus`).
pub mod bus {
    pub use device_bus::*;
}
pub mod chipset;
pub mod control;
pub mod irq;
pub mod kvm;
pub mod layout;
pub mod loader;
pub mod msi_routes;
