//! TODO(#3): being written.
