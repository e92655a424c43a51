//! virtio_blk

#![forbid(unsafe_code)]
