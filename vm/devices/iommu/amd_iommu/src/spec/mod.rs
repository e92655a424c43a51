//! Pure hardware types of the AMD I/O Virtualization Technology (IOMMU) Specification
//! (#48882): register layouts, table entries, command and event formats. No behaviour
//! lives here; each item cites the section that defines it.

pub mod cmd;
pub mod dte;
pub mod event;
pub mod irte;
pub mod pci;
pub mod pte;
pub mod regs;
