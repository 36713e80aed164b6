//! Benchmarks of Ravelin against its peers, measured side by side in one run.
