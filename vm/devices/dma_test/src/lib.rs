//! dma_test

#![forbid(unsafe_code)]
