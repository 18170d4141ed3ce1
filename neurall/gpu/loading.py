"""One model construction or load at a time in this process.

diffusers and transformers load weights under accelerate's ``init_empty_weights``, which
patches ``torch.nn.Module.register_parameter`` for the whole process while it runs, not just
for the calling thread. A model built on another thread meanwhile (the tiny model's build,
training's private copy, the embedded backend's pipeline) silently gets parameters on the
"meta" device, with no data. Every place that builds or loads model weights holds this lock.
Re-entrant, because loading the tiny model builds it first.
"""

from __future__ import annotations

import threading

MODEL_LOAD_LOCK = threading.RLock()
