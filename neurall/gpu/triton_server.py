"""`neurall gpu`: the catalog's pipelines served by NVIDIA Triton through PyTriton.

Each catalog entry is a Triton model named ``spec.triton_name`` ("neurall_<id>"); all of them
feed one BatchRunner, whose ModelPool loads a model on its first request (entries marked
``preload`` before Triton starts) and unloads the least recently used ones to stay within
the memory budget (``--memory-budget-mb``; neurall.gpu.pool). The model "neurall_models"
reports each model's state (READY, LOADING, COLD) as JSON; it is bound last, so its
readiness is the server's.

Each model is decoupled (one request, many responses: a response per
denoising step, then the images) with Triton's dynamic batcher in front. PyTriton hands the
infer function each batch Triton formed; the requests go to a BatchRunner, which merges them
with anything else waiting for the pipeline (so a busy GPU runs compatible requests together)
and splits incompatible ones (different size, steps, guidance or adapters) into separate calls.

Batching is observable three ways: the log line "pipeline call batch_size=N" of every call,
the JSON file ``stats_path`` (rewritten after every call), and Triton's own metrics, where
``nv_inference_exec_count`` counts the batches Triton handed over (not pipeline calls: the
runner may merge several of them into one call).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import sys
import sysconfig
import threading
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from neurall.gpu import guardian
from neurall.gpu.adapter_files import AdapterFiles
from neurall.gpu.batching import BatchRunner
from neurall.gpu.catalog import ModelSpec, catalog_for
from neurall.gpu.optimization import DEFAULT_BATCHES, SETTINGS, Chooser, chooser, parse_batches
from neurall.gpu.pipeline import Pipeline
from neurall.gpu.pool import ModelPool
from neurall.gpu.protocol import (
    INPUTS,
    KIND_ERROR,
    KIND_FINAL,
    KIND_STEP,
    OUTPUTS,
    STATES_INPUT,
    STATES_MODEL,
    STATES_OUTPUT,
    from_tensors,
)
from neurall.gpu.stub_python import stub_python_env
from neurall.gpu.types import (
    TINY_MODEL,
    GenerationResult,
    InferenceError,
    InferenceUnavailable,
    StepProgress,
)

logger = logging.getLogger(__name__)

DEFAULT_MAX_QUEUE_DELAY_US = 20_000
Response = dict[str, np.ndarray]


def _int(value: int) -> np.ndarray:
    return np.array([[value]], dtype=np.int32)


def _encode(outcome: StepProgress | GenerationResult | BaseException) -> Response:
    if isinstance(outcome, StepProgress):
        return {
            "kind": _int(KIND_STEP),
            "step": _int(outcome.step),
            "total_steps": _int(outcome.total_steps),
            "preview": np.array([[outcome.preview_png or b""]], dtype=np.object_),
        }
    if isinstance(outcome, GenerationResult):
        flagged = outcome.flagged or [False] * len(outcome.images)
        return {
            "kind": _int(KIND_FINAL),
            "images": np.array([outcome.images], dtype=np.object_),
            "flagged": np.array([flagged], dtype=np.int32),
        }
    transient = isinstance(outcome, InferenceUnavailable)
    return {
        "kind": _int(KIND_ERROR),
        "error": np.array([[str(outcome).encode("utf-8")]], dtype=np.object_),
        "error_transient": _int(int(transient)),
    }


class TritonModel:
    """The infer function bound on PyTriton for one catalog model; it runs on PyTriton's
    asyncio loop. A request naming another model is refused (a client routes by model)."""

    def __init__(self, runner: BatchRunner, model_id: str) -> None:
        self._runner = runner
        self._model_id = model_id

    async def infer(self, requests: list[Any]) -> AsyncIterator[list[Response]]:
        loop = asyncio.get_running_loop()
        rounds: asyncio.Queue[list[tuple[int, Any]]] = asyncio.Queue()
        staged: list[tuple[int, Any]] = []
        staged_lock = threading.Lock()
        jobs = []
        done = [False] * len(requests)

        def sink(index: int) -> Callable[[Any], None]:
            def stage(item: Any) -> None:  # worker thread
                with staged_lock:
                    staged.append((index, item))

            return stage

        def flush() -> None:  # worker thread, once per round of the pipeline batch
            with staged_lock:
                batch = staged[:]
                staged.clear()
            if batch:
                loop.call_soon_threadsafe(rounds.put_nowait, batch)

        invalid = []
        for index, raw in enumerate(requests):
            try:
                request = from_tensors(raw)
            except (ValueError, TypeError, UnicodeDecodeError, KeyError) as exc:
                invalid.append((index, InferenceError(f"invalid request: {exc}")))
                continue
            if request.model != self._model_id:
                wrong = f"a request for model {request.model!r} sent to {self._model_id!r}"
                invalid.append((index, InferenceError(wrong)))
                continue
            try:
                jobs.append(self._runner.submit(request, sink(index), sink(index), flush))
            except InferenceUnavailable as exc:  # shutting down
                invalid.append((index, exc))
        if invalid:
            rounds.put_nowait(invalid)
        try:
            while not all(done):
                batch = await rounds.get()
                # Each yield sends one response to every request of this Triton batch. A round
                # holds one event per job of one pipeline call; requests that are waiting for
                # another pipeline call (different size, say) get an empty response, which
                # clients skip.
                while batch:
                    responses: list[Response] = [{} for _ in requests]
                    later = []
                    for index, item in batch:
                        if responses[index]:
                            later.append((index, item))
                            continue
                        responses[index] = _encode(item)
                        if not isinstance(item, StepProgress):
                            done[index] = True
                    yield responses
                    batch = later
        finally:
            # A no-op when every job is done; if PyTriton abandons the batch (shutdown),
            # this stops the work.
            for job in jobs:
                job.cancel()


class StatesModel:
    """The infer function of "neurall_models": every model's state and last load time, as
    JSON (protocol.STATES_MODEL)."""

    def __init__(self, pool: ModelPool) -> None:
        self._pool = pool

    def infer(self, requests: list[Any]) -> list[Response]:
        report = {"states": self._pool.states(), "load_seconds": self._pool.load_seconds()}
        states = json.dumps(report).encode("utf-8")
        return [{STATES_OUTPUT: np.array([states], dtype=np.object_)} for _ in requests]


def _states_tensors() -> tuple[list[Any], list[Any]]:
    from pytriton.model_config import Tensor

    return (
        [Tensor(name=STATES_INPUT, dtype=np.bytes_, shape=(1,))],
        [Tensor(name=STATES_OUTPUT, dtype=np.bytes_, shape=(1,))],
    )


def _tensors() -> tuple[list[Any], list[Any]]:
    from pytriton.model_config import Tensor

    inputs = [Tensor(name=n, dtype=d, shape=s) for n, (d, _, s) in INPUTS.items()]
    outputs = [Tensor(name=n, dtype=d, shape=s) for n, (d, _, s) in OUTPUTS.items()]
    return inputs, outputs


def prepare_environment() -> None:
    """Point the Triton Python backend stub at this interpreter's libpython.

    PyTriton's stub links libpython dynamically; with a non-system Python (pyenv, venvs built
    on it) it otherwise loads the distribution's older libpython and fails to start.
    """
    libdir = sysconfig.get_config_var("LIBDIR")
    if libdir:
        current = os.environ.get("LD_LIBRARY_PATH", "")
        if libdir not in current.split(os.pathsep):
            os.environ["LD_LIBRARY_PATH"] = os.pathsep.join(p for p in (libdir, current) if p)


def _require_free_port(host: str, port: int) -> None:
    """Exit with a clear message rather than half-start on a port already taken, typically
    by an orphaned tritonserver of an earlier `neurall gpu` that was killed."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        # As servers bind: a port left in TIME_WAIT is free, one someone listens on is not.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise SystemExit(
                f"neurall gpu: port {port} on {host} is in use ({exc.strerror}); is an "
                "orphaned tritonserver of an earlier `neurall gpu` still running?"
            ) from None


def serve(
    models: Iterable[ModelSpec] | str = TINY_MODEL,
    cache_dir: Path = Path("neurall-data/models"),
    host: str = "0.0.0.0",  # noqa: S104 - a GPU server is reached from other machines
    grpc_port: int = 8001,
    http_port: int = 8000,
    metrics_port: int = 8002,
    *,
    max_batch_size: int = 8,
    max_queue_delay_us: int = DEFAULT_MAX_QUEUE_DELAY_US,
    stats_path: Path | None = None,
    device: str | None = None,
    safety_checker: str = "",
    safety_policy: str = "blur",
    pipeline_metrics_port: int | None = None,
    adapter_files: AdapterFiles | None = None,
    memory_budget_bytes: int = 0,
    stub_python: str = "",
    optimization: Chooser | None = None,
) -> None:
    """Load the preloaded models, then serve the catalog ``models`` (a Catalog or a list of
    ModelSpec; a string: the older one-model setting) on Triton until interrupted (SIGINT
    or SIGTERM); the others load on their first request, within ``memory_budget_bytes``.

    Clone adapters named by requests are found through ``adapter_files`` (`neurall gpu`
    gives it the deployment's store; see neurall.clones.store.adapter_files).
    ``stub_python``: see ``stub_python_env``; ``optimization``: how each entry's pipeline is
    optimized and warmed up at load (neurall.gpu.optimize; None: not at all)."""
    from pytriton.model_config import DynamicBatcher, ModelConfig
    from pytriton.triton import Triton, TritonConfig

    prepare_environment()
    ports = (grpc_port, http_port, metrics_port, pipeline_metrics_port)
    for port in filter(None, ports):
        _require_free_port(host, port)
    # PyTriton logs request and response tensors at DEBUG: prompts and images must not reach
    # the logs, whatever the process-wide level is.
    pytriton_logger = logging.getLogger("pytriton")
    if pytriton_logger.getEffectiveLevel() < logging.INFO:
        pytriton_logger.setLevel(logging.INFO)
    specs = list(catalog_for(None, models) if isinstance(models, str) else models)

    def load_pool() -> ModelPool:
        pool = ModelPool(
            specs,
            lambda spec: Pipeline.load(
                spec,
                cache_dir,
                device=device,
                safety_checker=safety_checker,
                safety_policy=safety_policy,
                adapter_files=adapter_files,
                optimization=optimization(spec) if optimization else None,
            ),
            memory_budget_bytes=memory_budget_bytes,
        )
        pool.preload()
        return pool

    runner = BatchRunner(
        load_pool,
        max_batch_size=max_batch_size,
        stats_path=stats_path,
    )
    if pipeline_metrics_port:
        # Triton's own metrics (metrics_port) know Triton's batches, not the pipeline's
        # calls, batch sizes and busy time: those are served here (neurall.gpu.metrics).
        from prometheus_client import start_http_server

        start_http_server(pipeline_metrics_port, addr=host)
    # Load before Triton starts, so that Triton's readiness means "can generate now".
    pool = runner.start().result()
    # SIGTERM (docker stop, systemd) must unwind through Triton's context manager, or the
    # tritonserver child process outlives us; a SIGKILL or crash is the guardian's.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    guardian.start()
    config = TritonConfig(
        http_address=host,
        http_port=http_port,
        grpc_address=host,
        grpc_port=grpc_port,
        metrics_port=metrics_port,
        metrics_address=host,
        allow_gpu_metrics=False,
        exit_timeout_secs=10,
    )
    inputs, outputs = _tensors()
    try:
        with contextlib.ExitStack() as running:
            with stub_python_env(stub_python):
                triton = running.enter_context(Triton(config=config))
            for spec in specs:
                triton.bind(
                    model_name=spec.triton_name,
                    infer_func=TritonModel(runner, spec.id).infer,
                    inputs=inputs,
                    outputs=outputs,
                    config=ModelConfig(
                        max_batch_size=max_batch_size,
                        decoupled=True,
                        batcher=DynamicBatcher(max_queue_delay_microseconds=max_queue_delay_us),
                    ),
                    strict=False,
                )
            states_inputs, states_outputs = _states_tensors()
            triton.bind(
                model_name=STATES_MODEL,
                infer_func=StatesModel(pool).infer,
                inputs=states_inputs,
                outputs=states_outputs,
                config=ModelConfig(batching=False),
                strict=False,
            )
            logger.info(
                "serving %s: grpc %s:%d, http %d, metrics %d",
                ", ".join(spec.id for spec in specs),
                host,
                grpc_port,
                http_port,
                metrics_port,
            )
            triton.serve()
    finally:
        runner.close()


def main(argv: list[str] | None = None, adapter_files: AdapterFiles | None = None) -> None:
    """Command line of `neurall gpu` (also `python -m neurall.gpu.triton_server`, which then
    serves no clones: it is given no adapter store)."""
    parser = argparse.ArgumentParser(prog="neurall gpu", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--models-file",
        type=Path,
        default=None,
        help="the model catalog (docs/models.md); default: the built-in tiny models",
    )
    parser.add_argument(
        "--model",
        default=TINY_MODEL,
        help="without --models-file, the default entry's source (the older one-model setting)",
    )
    parser.add_argument(
        "--memory-budget-mb",
        type=float,
        default=0.0,
        help="memory the loaded models may occupy (MB, as measured at load); the least "
        "recently used idle ones unload to make room; 0: unlimited",
    )
    parser.add_argument("--cache-dir", type=Path, default=Path("neurall-data/models"))
    parser.add_argument("--host", default="0.0.0.0")  # noqa: S104 - see serve()
    parser.add_argument("--grpc-port", type=int, default=8001)
    parser.add_argument("--http-port", type=int, default=8000)
    parser.add_argument("--metrics-port", type=int, default=8002)
    parser.add_argument("--max-batch-size", type=int, default=8)
    parser.add_argument("--max-queue-delay-us", type=int, default=DEFAULT_MAX_QUEUE_DELAY_US)
    parser.add_argument("--stats-file", type=Path, default=None)
    parser.add_argument("--device", default=None)
    parser.add_argument(
        "--safety-checker", default="", help="checker path or hub id (docs/safety.md); empty: off"
    )
    parser.add_argument("--safety-policy", choices=("blur", "drop", "flag"), default="blur")
    parser.add_argument(
        "--pipeline-metrics-port",
        type=int,
        default=None,
        help="serve the pipeline's Prometheus metrics on this port (default: not served); "
        "Triton's own are on --metrics-port",
    )
    parser.add_argument(
        "--compile",
        choices=SETTINGS,
        default="off",
        help="the optimized pipeline (compiled denoiser, warm-up at load): off, on, or auto "
        "(on for CUDA); a catalog entry's `optimize` overrides it",
    )
    parser.add_argument(
        "--compile-batches",
        type=parse_batches,
        default=DEFAULT_BATCHES,
        help='images per call compiled at warm-up, e.g. "1,2,4,8"',
    )
    parser.add_argument(
        "--cuda-graphs", action="store_true", help="compile in reduce-overhead mode (CUDA graphs)"
    )
    parser.add_argument(
        "--stub-python",
        default="",
        help="a Python environment (venv folder) for Triton's Python stub only: one with "
        "numpy 1.26 for PyTriton 0.7 where this process has numpy 2; default: this one's",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    serve(
        catalog_for(args.models_file, args.model),
        args.cache_dir,
        args.host,
        args.grpc_port,
        args.http_port,
        args.metrics_port,
        max_batch_size=args.max_batch_size,
        max_queue_delay_us=args.max_queue_delay_us,
        stats_path=args.stats_file,
        device=args.device,
        safety_checker=args.safety_checker,
        safety_policy=args.safety_policy,
        pipeline_metrics_port=args.pipeline_metrics_port,
        adapter_files=adapter_files,
        memory_budget_bytes=int(args.memory_budget_mb * 2**20),
        stub_python=args.stub_python,
        optimization=chooser(
            args.compile, args.device, batches=args.compile_batches, cuda_graphs=args.cuda_graphs
        ),
    )


if __name__ == "__main__":
    main()
