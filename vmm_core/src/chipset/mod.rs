//! The legacy platform devices: IOAPIC, UARTs, CMOS RTC, power control.

pub mod cmos;
pub mod ioapic;
pub mod power;
pub mod serial;
