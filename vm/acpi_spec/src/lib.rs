//! acpi_spec
#![forbid(unsafe_code)]
