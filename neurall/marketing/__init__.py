"""Marketing e-mail: campaigns sent once to every verified, subscribed account, each
message carrying the signed one-click unsubscribe link (RFC 8058)."""
