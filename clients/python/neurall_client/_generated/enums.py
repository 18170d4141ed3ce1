from enum import Enum


class ErrorCode(str, Enum):
    INVALID_INPUT = "INVALID_INPUT"
    NOT_AUTHENTICATED = "NOT_AUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    INSUFFICIENT_CREDITS = "INSUFFICIENT_CREDITS"
    RATE_LIMITED = "RATE_LIMITED"
    CONFLICT = "CONFLICT"
    BILLING_UNAVAILABLE = "BILLING_UNAVAILABLE"
    SPEND_LIMIT_REACHED = "SPEND_LIMIT_REACHED"


class ApiKeyScope(str, Enum):
    GENERATE = "GENERATE"
    READ = "READ"
    CLONE = "CLONE"
    WEBHOOKS = "WEBHOOKS"


class SpendPeriod(str, Enum):
    DAY = "DAY"
    MONTH = "MONTH"


class JobStatus(str, Enum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"


class GenerationMode(str, Enum):
    TEXT_TO_IMAGE = "TEXT_TO_IMAGE"
    IMAGE_TO_IMAGE = "IMAGE_TO_IMAGE"
    INPAINT = "INPAINT"


class ModelFamily(str, Enum):
    SD1 = "SD1"
    SDXL = "SDXL"
    FLUX = "FLUX"


class ModelState(str, Enum):
    READY = "READY"
    LOADING = "LOADING"
    COLD = "COLD"


class JobPriority(str, Enum):
    STANDARD = "STANDARD"
    BATCH = "BATCH"


class Scheduler(str, Enum):
    DEFAULT = "DEFAULT"
    DDIM = "DDIM"
    EULER = "EULER"
    EULER_ANCESTRAL = "EULER_ANCESTRAL"
    DPM_PP_2M = "DPM_PP_2M"
    UNIPC = "UNIPC"


class JobSource(str, Enum):
    PLAYGROUND = "PLAYGROUND"
    API = "API"


class JobEventType(str, Enum):
    QUEUED = "QUEUED"
    POSITION = "POSITION"
    STARTED = "STARTED"
    PROGRESS = "PROGRESS"
    PREVIEW = "PREVIEW"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"


class LedgerKind(str, Enum):
    TOP_UP = "TOP_UP"
    GRANT = "GRANT"
    HOLD = "HOLD"
    RELEASE = "RELEASE"
    CHARGE = "CHARGE"
    REFUND = "REFUND"
    CHARGEBACK = "CHARGEBACK"
    ADJUSTMENT = "ADJUSTMENT"


class CloneStatus(str, Enum):
    QUEUED = "QUEUED"
    TRAINING = "TRAINING"
    READY = "READY"
    FAILED = "FAILED"


class WebhookEventType(str, Enum):
    JOB_STARTED = "JOB_STARTED"
    JOB_PROGRESS = "JOB_PROGRESS"
    JOB_SUCCEEDED = "JOB_SUCCEEDED"
    JOB_FAILED = "JOB_FAILED"
    JOB_CANCELED = "JOB_CANCELED"
    CLONE_READY = "CLONE_READY"
    CLONE_FAILED = "CLONE_FAILED"
    CREDITS_LOW = "CREDITS_LOW"


class WebhookDeliveryStatus(str, Enum):
    PENDING = "PENDING"
    RETRYING = "RETRYING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class ExportStatus(str, Enum):
    PENDING = "PENDING"
    READY = "READY"
    EXPIRED = "EXPIRED"
    FAILED = "FAILED"
