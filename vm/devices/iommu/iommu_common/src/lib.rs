//! iommu_common
#![forbid(unsafe_code)]
