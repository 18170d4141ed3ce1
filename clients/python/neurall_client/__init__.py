"""neurall-client: a typed Python SDK for the Neurall image-generation API.

    from neurall_client import Client
    with Client("http://127.0.0.1:8000", api_key="nk_...") as c:
        job = c.generate("a lighthouse at dusk", width=64, height=64, seed=7)
        job.images[0].save("lighthouse.png")

The typed models come from the API's contract (ariadne-codegen, neurall_client._generated);
the clients, errors and webhook verification are written by hand. See README.md.
"""

from neurall_client import webhooks
from neurall_client._async_client import AsyncClient
from neurall_client._generated.enums import (
    CloneStatus,
    GenerationMode,
    JobEventType,
    JobPriority,
    JobStatus,
    ModelFamily,
    ModelState,
    Scheduler,
)
from neurall_client._generated.fragments import CloneFields as Clone
from neurall_client._generated.job_events import JobEventsJobEvents as JobEvent
from neurall_client._generated.list_models import ListModelsModels as Model
from neurall_client._retry import RetryPolicy
from neurall_client._sync_client import Client
from neurall_client._types import AsyncImage, Image, Job
from neurall_client.errors import (
    AuthenticationError,
    ConflictError,
    FieldError,
    InsufficientCreditsError,
    InvalidInputError,
    NetworkError,
    NeurallError,
    NotFoundError,
    PermissionError,
    RateLimitedError,
    ServiceUnavailableError,
    SpendLimitReachedError,
)

__version__ = "0.1.0"

__all__ = [
    "AsyncClient",
    "AsyncImage",
    "AuthenticationError",
    "Client",
    "Clone",
    "CloneStatus",
    "ConflictError",
    "FieldError",
    "GenerationMode",
    "Image",
    "InsufficientCreditsError",
    "InvalidInputError",
    "Job",
    "JobEvent",
    "JobEventType",
    "JobPriority",
    "JobStatus",
    "Model",
    "ModelFamily",
    "ModelState",
    "NetworkError",
    "NeurallError",
    "NotFoundError",
    "PermissionError",
    "RateLimitedError",
    "RetryPolicy",
    "Scheduler",
    "ServiceUnavailableError",
    "SpendLimitReachedError",
    "__version__",
    "webhooks",
]
