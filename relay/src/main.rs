//! `argus-relay`: TODO(#3) being written.
fn main() {}
