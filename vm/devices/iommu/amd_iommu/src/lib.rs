//! amd_iommu

#![forbid(unsafe_code)]
