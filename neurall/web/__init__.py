"""Plain aiohttp handlers beside GraphQL: health, downloads, webhooks, cookies."""
