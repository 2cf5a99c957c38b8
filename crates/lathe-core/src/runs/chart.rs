//! Run charts (filled in below).
