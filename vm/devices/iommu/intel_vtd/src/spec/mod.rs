//! Pure hardware types of the Intel VT-d architecture (Intel Virtualization
//! Technology for Directed I/O Architecture Specification, rev 4.x): register
//! offsets and layouts, translation structures, invalidation descriptors, interrupt
//! remapping entries and fault reasons. No behaviour lives here.

pub mod fault;
pub mod irte;
pub mod qi;
pub mod regs;
pub mod tables;
