"""Privacy: usage logs, data export and account erasure."""
