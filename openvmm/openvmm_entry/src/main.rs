//! openvmm_entry

fn main() {}
