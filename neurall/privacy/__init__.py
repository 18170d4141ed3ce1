"""Privacy: usage logs, data export and account erasure (issue 5)."""
