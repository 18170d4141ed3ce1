"""The ``neurall`` command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from typing import TYPE_CHECKING

from neurall.config import Settings, SettingsError, load_settings
from neurall.gpu.catalog import Catalog, CatalogError, catalog_for

if TYPE_CHECKING:
    from neurall.webhooks.secret_store import Resealed

log = logging.getLogger("neurall")

# Libraries that log statement parameters or message bodies at DEBUG: e-mail addresses,
# password hashes, playground prompts, API payloads. Kept at INFO whatever --log-level says.
CHATTY_LOGGERS = ("tortoise.db_client", "aiosqlite", "pika", "aiormq", "aio_pika")


def _catalog(settings: Settings) -> Catalog:
    """The deployment's model catalog; a bad file raises CatalogError, which ``main`` says
    in one line (the file, the entry and the field) before exiting non-zero."""
    return catalog_for(settings.models_file, settings.model)


def _serve(settings: Settings, args: argparse.Namespace) -> None:
    from neurall.orm import database

    _catalog(settings)  # before anything starts: a bad catalog file stops serve here

    if args.workers > 1 and settings.is_embedded_broker:
        # The in-process queue and its actors live in one process's memory: a second API
        # process would have its own queue, and each would run (and reap) jobs alone.
        sys.exit(
            "--workers needs NEURALL_BROKER_URL: the in-process queue cannot be shared "
            "between processes (run `neurall worker`s on RabbitMQ, or --workers 1)"
        )
    if settings.database_url.startswith("sqlite://"):
        # The embedded default migrates itself so the first run just works; a shared
        # PostgreSQL is migrated deliberately with `neurall migrate`.
        asyncio.run(database.migrate(settings.database_url))
        _adopt_legacy_adapters(settings)
        _reseal_secrets(settings)
    if args.workers == 1:
        _serve_process(args.host, args.port, args.log_level, settings)
        return
    from neurall.supervisor import supervise

    if settings.rate_limit_backend == "memory":
        log.warning(
            "NEURALL_RATE_LIMIT_BACKEND=memory: each of the %d API processes keeps its own "
            "buckets, so a client can get up to %d times the configured rates; set it to "
            "`database` to share them",
            args.workers,
            args.workers,
        )
    log.info(
        "serving on %s:%d with %d API processes; links use %s",
        args.host,
        args.port,
        args.workers,
        settings.public_url,
    )
    sys.exit(supervise(_serve_process, (args.host, args.port, args.log_level), args.workers))


def _serve_process(host: str, port: int, log_level: str, settings: Settings | None = None) -> None:
    """One API process: the app on ``host``:``port``. Without ``settings`` it is one of
    --workers' children, a fresh interpreter that reads the environment its parent read and
    shares the port with its siblings (SO_REUSEPORT: the kernel spreads connections)."""
    from aiohttp import web

    from neurall.app import create_app

    reuse_port = settings is None
    if settings is None:
        configure_logging(log_level)
        try:
            settings = load_settings(listen=(host, port))
            if settings.log_format != "text":
                configure_logging(log_level, settings.log_format)
            app = create_app(settings)
        except (SettingsError, CatalogError) as exc:
            # Said once per child, without a traceback; the parent then stops them all.
            sys.exit(_refusal(exc))
    else:
        app = create_app(settings)
    # aiohttp's banner is printed, not logged: in JSON logs it would be the one non-JSON
    # line; --workers' children leave it to their parent.
    banner = print if settings.log_format == "text" else log.info
    web.run_app(
        app,
        host=host,
        port=port,
        access_log=None,
        reuse_port=reuse_port or None,
        print=None if reuse_port else banner,
    )


def _migrate(settings: Settings, _args: argparse.Namespace) -> None:
    from neurall.orm import database

    asyncio.run(database.migrate(settings.database_url))
    log.info("database migrated")
    _adopt_legacy_adapters(settings)
    _reseal_secrets(settings)


def _adopt_legacy_adapters(settings: Settings) -> None:
    from neurall.clones.store import adopt_legacy_adapters

    moved = adopt_legacy_adapters(settings)
    if moved:
        log.info("moved %d clone adapters into the storage directory", moved)


def _reseal_secrets(settings: Settings) -> Resealed:
    """Seal every stored secret under the current key (plain ones left by versions before
    sealing included); those that no configured key opens are named in the log."""
    from neurall import clock
    from neurall.orm import database
    from neurall.secrets_at_rest import Keyring
    from neurall.webhooks.secret_store import reseal_all

    keyring = Keyring.from_settings(settings)

    async def run() -> Resealed:
        async with database.database(settings.database_url):
            return await reseal_all(keyring, clock.now())

    report = asyncio.run(run())
    if report.updated:
        log.info(
            "sealed the secrets of %d webhook endpoints under key %s (%d expired previous "
            "secrets deleted)",
            report.updated,
            keyring.current_key_id,
            report.dropped,
        )
    if report.unreadable:
        log.warning(
            "%d webhook endpoints hold a secret no configured key opens: list the key they "
            "were sealed under in NEURALL_PREVIOUS_SECRET_KEYS and run `neurall secrets "
            "rotate`",
            len(report.unreadable),
        )
    return report


def _secrets_rotate(settings: Settings, _args: argparse.Namespace) -> None:
    from neurall.secrets_at_rest import Keyring

    report = _reseal_secrets(settings)
    if report.unreadable:
        sys.exit(f"{len(report.unreadable)} webhook endpoints left as they were; see the log")
    key_id = Keyring.from_settings(settings).current_key_id
    print(
        f"{report.updated} webhook endpoints resealed ({report.dropped} expired previous "
        f"secrets deleted); every stored secret is sealed under key {key_id}"
    )


def _check_migrations(settings: Settings, _args: argparse.Namespace) -> None:
    from neurall.orm import database

    pending = asyncio.run(database.pending_model_changes(settings.database_url))
    if pending:
        sys.exit(
            "models changed without a migration: write one with `make makemigrations` "
            "(scripts/makemigrations.sh)"
        )
    print("models and migrations agree")


def _schema(settings: Settings, _args: argparse.Namespace) -> None:
    from neurall.graphql.schema import build_schema

    print(build_schema(settings).as_str())


def _credits_grant(settings: Settings, args: argparse.Namespace) -> None:
    from neurall.accounts.admin import grant_by_email
    from neurall.errors import DomainError
    from neurall.orm import database

    async def run() -> tuple[int, bool]:
        async with database.database(settings.database_url):
            account, applied = await grant_by_email(
                args.email, args.credits, args.reason, args.reference
            )
            return account.balance - account.held, applied

    try:
        available, applied = asyncio.run(run())
    except DomainError as exc:
        sys.exit(exc.message)
    print(
        f"granted {args.credits} credits; {available} now available"
        if applied
        else f"already granted under this reference; {available} available"
    )


def _retention_run(settings: Settings, _args: argparse.Namespace) -> None:
    from neurall.orm import database
    from neurall.retention.sweeper import run_policies
    from neurall.storage import make_storage

    async def run() -> dict[str, int]:
        storage = make_storage(settings)
        try:
            async with database.database(settings.database_url):
                return await run_policies(settings, storage)
        finally:
            await storage.close()

    removed = asyncio.run(run())
    for name, count in removed.items():
        print(f"{name}: {'FAILED' if count < 0 else count}")
    if any(count < 0 for count in removed.values()):
        sys.exit(1)


def _marketing_send(settings: Settings, args: argparse.Namespace) -> None:
    from pathlib import Path

    from neurall.marketing.campaign import send_campaign
    from neurall.orm import database
    from neurall.workers.mail import build_mailer

    text = Path(args.text_file).read_text()
    html = Path(args.html_file).read_text() if args.html_file else None

    async def run() -> str:
        async with database.database(settings.database_url):
            report = await send_campaign(
                args.subject,
                text,
                html,
                mailer=build_mailer(settings),
                batch_size=settings.marketing_batch_size,
            )
        return (
            f"campaign {report.campaign_id}: {report.queued} queued, {report.sent} sent, "
            f"{report.dropped} dropped, {report.failed} left for the mail relay"
        )

    print(asyncio.run(run()))


def _worker(settings: Settings, args: argparse.Namespace) -> None:
    from neurall.workers.process import run_worker

    _catalog(settings)  # before connecting: a bad catalog file stops the worker here
    queues = set(filter(None, args.queues.split(","))) if args.queues else None
    run_worker(settings, threads=args.threads, queues=queues)


def _gpu(settings: Settings, args: argparse.Namespace) -> None:
    from neurall.clones.store import adapter_files
    from neurall.gpu import triton_server

    # The catalog, its cache, the memory budget and the safety checker follow the settings
    # unless given explicitly; clone adapters come from the deployment's storage
    # (NEURALL_STORAGE_URL).
    defaults = ["--model", settings.model, "--cache-dir", str(settings.model_cache_dir)]
    defaults += ["--safety-checker", settings.safety_checker]
    defaults += ["--safety-policy", settings.safety_policy]
    defaults += ["--memory-budget-mb", str(settings.gpu_memory_budget_mb)]
    defaults += ["--compile", settings.pipeline_compile]
    defaults += ["--compile-batches", settings.pipeline_compile_batches]
    defaults += ["--stub-python", settings.triton_stub_python]
    if settings.pipeline_cuda_graphs:
        defaults += ["--cuda-graphs"]
    if settings.models_file is not None:
        defaults += ["--models-file", str(settings.models_file)]
    triton_server.main([*defaults, *args.gpu_args], adapter_files(settings))


def _models_list(settings: Settings, _args: argparse.Namespace) -> None:
    from neurall.billing.pricing import Pricing, batch_list_price, list_price
    from neurall.generation.model_states import backend_states
    from neurall.gpu.backend import EMBEDDED, make_backend

    catalog = _catalog(settings)
    pricing = Pricing.from_settings(settings)
    server = settings.inference_url
    if server == EMBEDDED:
        # The pipeline lives inside each `neurall serve`: nothing to ask from here.
        states = dict.fromkeys((spec.id for spec in catalog), "embedded")
    else:

        async def ask() -> dict[str, str]:
            backend = make_backend(server, timeout_s=float(settings.inference_timeout_s))
            await backend.start()
            try:
                return {k: v.value for k, v in (await backend_states(backend, catalog)).items()}
            finally:
                await backend.close()

        states = asyncio.run(ask())
    rows = [("id", "family", "default", "credits", "batch", f"state ({server})")]
    for spec in catalog:
        rows.append(
            (
                spec.id,
                spec.family.value,
                "yes" if spec is catalog.default else "",
                str(list_price(spec, pricing)),
                str(batch_list_price(spec, pricing)),
                states[spec.id],
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


def _config_docs(args: argparse.Namespace) -> None:
    from neurall import config_docs

    text = config_docs.render()
    if not args.check:
        sys.stdout.write(text)
    elif (
        not config_docs.DOCS_PATH.is_file()
        or config_docs.DOCS_PATH.read_text(encoding="utf-8") != text
    ):
        sys.exit(f"{config_docs.DOCS_PATH} is stale: run `make docs`")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="neurall", description=__doc__)
    parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the API (and, embedded, everything else)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers",
        type=_positive,
        default=1,
        help="API processes sharing the port (SO_REUSEPORT); more than 1 needs "
        "NEURALL_BROKER_URL (default 1)",
    )
    serve.set_defaults(func=_serve)

    commands.add_parser("migrate", help="apply pending database migrations").set_defaults(
        func=_migrate
    )
    commands.add_parser(
        "check-migrations", help="fail when the models changed without a migration"
    ).set_defaults(func=_check_migrations)
    worker = commands.add_parser("worker", help="run the background workers (RabbitMQ)")
    worker.add_argument("--threads", type=int, default=None, help="default NEURALL_WORKER_THREADS")
    worker.add_argument(
        "--queues", default=None, help="comma-separated queues to consume (default: all)"
    )
    worker.set_defaults(func=_worker)
    gpu = commands.add_parser(
        "gpu", help="serve the pipeline on Triton (options: neurall gpu --help)", add_help=False
    )
    # Its options are neurall.gpu.triton_server's own: main() passes the rest through.
    gpu.set_defaults(func=_gpu)
    commands.add_parser("schema", help="print the GraphQL schema (SDL)").set_defaults(func=_schema)
    models = commands.add_parser("models", help="the model catalog").add_subparsers(
        dest="models_command", required=True
    )
    models.add_parser(
        "list", help="each model's id, family, prices and state on the GPU server"
    ).set_defaults(func=_models_list)
    credits = commands.add_parser("credits", help="manage credits").add_subparsers(
        dest="credits_command", required=True
    )
    grant = credits.add_parser("grant", help="give an account free credits")
    grant.add_argument("email")
    grant.add_argument("credits", type=int)
    grant.add_argument("--reason", required=True, help="why (kept in the ledger)")
    grant.add_argument("--reference", help="make the grant idempotent under this name")
    grant.set_defaults(func=_credits_grant)
    retention = commands.add_parser("retention", help="data retention").add_subparsers(
        dest="retention_command", required=True
    )
    retention.add_parser("run", help="run every retention policy now").set_defaults(
        func=_retention_run
    )
    config_docs = commands.add_parser(
        "config-docs", help="print docs/configuration.md, generated from the settings"
    )
    config_docs.add_argument(
        "--check", action="store_true", help="fail when ./docs/configuration.md differs"
    )
    secrets = commands.add_parser(
        "secrets", help="the secrets stored in the database (docs/security.md)"
    ).add_subparsers(dest="secrets_command", required=True)
    secrets.add_parser(
        "rotate",
        help="seal every stored secret under NEURALL_SECRET_KEY (the keys that sealed them "
        "listed in NEURALL_PREVIOUS_SECRET_KEYS)",
    ).set_defaults(func=_secrets_rotate)
    marketing = commands.add_parser("marketing", help="marketing e-mail").add_subparsers(
        dest="marketing_command", required=True
    )
    send = marketing.add_parser(
        "send",
        help="send a campaign to every verified, subscribed account (run it again after a "
        "crash: nobody gets it twice)",
    )
    send.add_argument("--subject", required=True)
    send.add_argument("--text-file", required=True, help="the plain-text body (UTF-8)")
    send.add_argument("--html-file", help="an HTML body (UTF-8); default: from the text")
    send.set_defaults(func=_marketing_send)
    return parser


def configure_logging(level: str, log_format: str = "text") -> None:
    from neurall import logs

    logs.configure(level, log_format)
    for name in CHATTY_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(max(logger.getEffectiveLevel(), logging.INFO))


def main(argv: list[str] | None = None) -> None:
    parser = _parser()
    args, rest = parser.parse_known_args(argv)
    if args.command == "gpu":
        args.gpu_args = rest
    elif rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    configure_logging(args.log_level)
    if args.command == "config-docs":
        _config_docs(args)  # documents the settings, so it reads none of them
        return
    try:
        # `neurall serve`'s links follow its address unless NEURALL_PUBLIC_URL says otherwise.
        listen = (args.host, args.port) if args.command == "serve" else None
        settings = load_settings(listen=listen)
        if settings.log_format != "text":
            configure_logging(args.log_level, settings.log_format)
        # Some settings are checked where they are used (NEURALL_STORAGE_URL's details).
        args.func(settings, args)
    except (SettingsError, CatalogError) as exc:
        sys.exit(_refusal(exc))


def _refusal(exc: SettingsError | CatalogError) -> str:
    """The one line a process that cannot start prints (exit status 1, no traceback)."""
    if isinstance(exc, CatalogError):
        return f"neurall: the model catalog (NEURALL_MODELS_FILE) is unusable: {exc}"
    return str(exc)


if __name__ == "__main__":
    main()
