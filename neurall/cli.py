"""The ``neurall`` command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from neurall.config import Settings, SettingsError, load_settings

log = logging.getLogger("neurall")


def _serve(settings: Settings, args: argparse.Namespace) -> None:
    from aiohttp import web

    from neurall.app import create_app
    from neurall.orm import database

    if settings.database_url.startswith("sqlite://"):
        # The embedded default migrates itself so the first run just works; a shared
        # PostgreSQL is migrated deliberately with `neurall migrate`.
        asyncio.run(database.migrate(settings.database_url))
    web.run_app(create_app(settings), host=args.host, port=args.port, access_log=None)


def _migrate(settings: Settings, _args: argparse.Namespace) -> None:
    from neurall.orm import database

    asyncio.run(database.migrate(settings.database_url))
    log.info("database migrated")


def _check_migrations(settings: Settings, _args: argparse.Namespace) -> None:
    from neurall.orm import database

    pending = asyncio.run(database.pending_model_changes(settings.database_url))
    if pending:
        sys.exit("models changed without a migration: run `neurall makemigrations`")
    print("models and migrations agree")


def _schema(settings: Settings, _args: argparse.Namespace) -> None:
    from neurall.graphql.schema import build_schema

    print(build_schema(settings).as_str())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="neurall", description=__doc__)
    parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the API (and, embedded, everything else)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(func=_serve)

    commands.add_parser("migrate", help="apply pending database migrations").set_defaults(
        func=_migrate
    )
    commands.add_parser(
        "check-migrations", help="fail when the models changed without a migration"
    ).set_defaults(func=_check_migrations)
    commands.add_parser("schema", help="print the GraphQL schema (SDL)").set_defaults(func=_schema)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    try:
        settings = load_settings()
    except SettingsError as exc:
        sys.exit(str(exc))
    args.func(settings, args)


if __name__ == "__main__":
    main()
