"""AI cloning: validating uploaded photos and preparing them for LoRA fine-tuning.

The training itself lives in ``neurall.gpu.training`` (it needs torch); this package stays free
of the inference stack so the API server can validate uploads without loading it.
"""
