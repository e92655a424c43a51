//! PCI Express: configuration spaces, BARs, MSI-X, root ports with ACS, and root
//! complexes that decode ECAM by the bus numbers the guest assigned.

#![forbid(unsafe_code)]

pub mod bar;
pub mod conf1;
pub mod config_space;
pub mod device;
pub mod msix;
pub mod root_complex;
pub mod root_port;
pub mod spec;

pub use bar::BarInfo;
pub use bar::BarKind;
pub use config_space::ConfigSpace;
pub use device::DoorbellRegistrar;
pub use device::MsiController;
pub use device::MsiVector;
pub use device::PciDevice;
pub use device::RequesterIdCell;
pub use msix::Msix;
pub use root_complex::RootComplex;
pub use root_complex::RootComplexConfig;
pub use root_complex::RootPortDescription;
