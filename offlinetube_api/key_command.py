"""`offlinetube-api keys create|list|revoke`: API keys in the database the service's own
settings name (the SQLite file of OFFLINETUBE_DATA_DIR, or PostgreSQL at
OFFLINETUBE_DATABASE_URL). Which database that is goes to stderr first. A database that does
not exist yet is made only on request (`keys create --create`): a key made in a new database,
because the command ran in another folder or with other settings, would never open the
service it was meant for."""

import argparse
import asyncio
import sys
from typing import NoReturn

from offlinetube_api.config import Settings, redacted
from offlinetube_api.security.key_tables import opened_key_store
from offlinetube_api.security.keys import KeyNotActive, KeyStore, LastAdminKey, Scope

LAST_ADMIN = """Not revoking {key_id}: it is the last active admin key, and without one no one can
remove downloads through the API{and_open}. Create another first:
    offlinetube-api keys create --scope admin --name me
or revoke it anyway with --force."""
AND_OPEN = """; and as no other key is active, a service on a loopback address
with OFFLINETUBE_AUTH unset would answer anyone who can reach it, without a key"""

NO_DATABASE = """No database at {where}: no service has run with {variable}={value}.
Give this command the service's {variable}{create_hint}."""
CREATE_HINT = ", or add --create to start a new database there"


def add_keys_command(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """`keys create|list|revoke` on the command line's subcommands."""
    keys = commands.add_parser("keys", help="create, list and revoke API keys")
    actions = keys.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="make a key and print it, once")
    create.add_argument("--scope", choices=[scope.value for scope in Scope], required=True)
    create.add_argument("--name", required=True, help="who or what the key is for")
    create.add_argument(
        "--create",
        action="store_true",
        dest="new_database",
        help="make the database if there is none yet (before the service's first start)",
    )
    actions.add_parser("list", help="list keys (never their secrets)")
    revoke = actions.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id")
    revoke.add_argument(
        "--force", action="store_true", help="revoke even the last active admin key"
    )


def manage_keys(settings: Settings, args: argparse.Namespace) -> None:
    """Says on stderr which database it uses; or, when that database does not exist and
    `--create` was not given, exits with code 2 naming where it looked."""
    if not asyncio.run(_database_exists(settings)) and not getattr(args, "new_database", False):
        _refuse_new_database(settings, creatable=args.action == "create")
    print(f"keys: database {database_name(settings)}", file=sys.stderr)

    async def manage() -> None:
        async with opened_key_store(settings) as keys:
            await _manage_keys(keys, args)

    asyncio.run(manage())


def database_name(settings: Settings) -> str:
    """The SQLite file (absolute) or the PostgreSQL URL (without its password)."""
    if settings.database_url is None:
        return str(settings.database_path.resolve())
    return redacted(settings.database_url.get_secret_value())


async def _database_exists(settings: Settings) -> bool:
    """SQLite: the file is there. PostgreSQL (reachable, checked before): a service has made
    its tables there."""
    if settings.database_url is None:
        return await asyncio.to_thread(settings.database_path.exists)
    from offlinetube_api.store.postgres import has_schema  # distributed mode only

    return await has_schema(settings.database_url.get_secret_value())


def _refuse_new_database(settings: Settings, *, creatable: bool) -> NoReturn:
    if settings.database_url is None:
        where, variable = database_name(settings), "OFFLINETUBE_DATA_DIR"
        value = str(settings.data_dir)
    else:
        where = f"{database_name(settings)} (it has no tables of this service)"
        variable, value = "OFFLINETUBE_DATABASE_URL", database_name(settings)
    hint = CREATE_HINT if creatable else ""
    message = NO_DATABASE.format(where=where, variable=variable, value=value, create_hint=hint)
    print(message, file=sys.stderr)
    sys.exit(2)


async def revoke_key(keys: KeyStore, key_id: str, *, force: bool) -> None:
    """Refuses, unless forced, to revoke the last active admin key."""
    try:
        await keys.revoke_checked(key_id, force=force)
    except LastAdminKey as last:
        sys.exit(LAST_ADMIN.format(key_id=key_id, and_open=AND_OPEN if last.only_key else ""))
    except KeyNotActive:
        sys.exit(f"no active key with id {key_id!r}")


async def _manage_keys(keys: KeyStore, args: argparse.Namespace) -> None:
    if args.action == "create":
        key, text = await keys.create(name=args.name, scope=Scope(args.scope))
        print(text)
        print(
            f"key {key.id} ({key.scope}) for {key.name!r}: store it now, it is not shown again",
            file=sys.stderr,
        )
    elif args.action == "list":
        for key in await keys.all():
            state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
            print(f"{key.id}  {key.scope:<8}  {state:<18}  {key.created_at:%Y-%m-%d}  {key.name}")
    else:
        await revoke_key(keys, args.key_id, force=args.force)
