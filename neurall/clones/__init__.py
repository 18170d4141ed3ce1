"""AI cloning: uploads, clone records, the training actor's body, progress events, adapters.

The LoRA training steps themselves live in ``neurall.gpu.training`` (they need torch, which
``neurall.clones.training`` imports only when it trains); the rest of this package stays free
of the inference stack, so the API server can take uploads without loading it.
"""
