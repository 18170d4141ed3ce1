"""E-mail: an outbox written in the caller's transaction, templates rendered at send time,
and senders (SMTP, or .eml files for the embedded setup). See docs/email.md."""
