//! Dispatch: turns the typed VM configuration into a running VM — guest memory, the
//! KVM partition, the chipset, ACPI tables, the loaded kernel and the vCPUs.

#![forbid(unsafe_code)]

mod chipset;
pub mod config;
mod devices;
mod firmware;
mod iommu;
mod pcie;
mod platform;
pub mod topology;
mod vcpus;
mod worker;

pub use config::SerialConfig;
pub use config::VmConfig;
pub use platform::acpi_tables;
pub use platform::iort_description;
pub use platform::SMMU_BASE;
pub use vmm_core::control::ExitReason;
pub use worker::run;
