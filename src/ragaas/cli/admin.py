"""``ragaas admin``: organisations, users and API keys, straight against the database."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.markup import escape
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ragaas.admin import service
from ragaas.admin.schemas import UserCreate
from ragaas.audit import Actor, record, record_system_event
from ragaas.auth.passwords import password_problem
from ragaas.auth.permissions import Permission, Role, parse_scopes
from ragaas.certs import store as certificate_store
from ragaas.cli.common import (
    console,
    database_session,
    ensure_schema,
    fail,
    load_settings,
    print_json,
    resolve_database,
    run,
    split_list,
)
from ragaas.errors import AppError
from ragaas.models import Organization, User
from ragaas.notifications import service as notifications_service
from ragaas.quotas import service as quotas
from ragaas.sources import crypto
from ragaas.sources import service as sources_service
from ragaas.sso import service as sso_service

app = typer.Typer(
    help="Create organisations, users and API keys (talks to the database directly).",
    no_args_is_help=True,
)

OrgOption = Annotated[str, typer.Option("--org", help="Organisation name or id.")]
EmailOption = Annotated[str, typer.Option("--email", help="The user's e-mail address.")]
PasswordOption = Annotated[
    str,
    typer.Option(
        "--password",
        help="At least RAGAAS_PASSWORD_MIN_LENGTH (12) characters, not the e-mail.",
        envvar="RAGAAS_ADMIN_PASSWORD",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
Work = Callable[[AsyncSession], Awaitable[dict[str, Any]]]


@app.command()
def bootstrap(
    org: Annotated[str, typer.Option("--org", help="Name of the new organisation.")],
    email: EmailOption,
    password: PasswordOption,
    as_json: JsonOption = False,
) -> None:
    """Create an organisation, its admin user and an all-scopes API key."""
    _validate_user(email, password, Role.ADMIN)
    created = _run_in_session(_bootstrap(org, email, password))
    if as_json:
        print_json(created)
        return
    console.print(f"Created organisation [bold]{escape(org)}[/bold] ({created['organization_id']})")
    console.print(f"Admin user {escape(email.strip().lower())} ({created['user_id']})")
    _show_key(created["api_key"])


@app.command("create-user")
def create_user(
    org: OrgOption,
    email: EmailOption,
    password: PasswordOption,
    role: Annotated[Role, typer.Option("--role", help="What the user may do.")] = Role.VIEWER,
    as_json: JsonOption = False,
) -> None:
    """Create a user in an existing organisation."""
    _validate_user(email, password, role)
    created = _run_in_session(_create_user(org, email, password, role))
    if as_json:
        print_json(created)
        return
    console.print(f"Created {role.value} {escape(created['email'])} ({created['user_id']})")


@app.command("create-api-key")
def create_api_key(
    org: OrgOption,
    email: EmailOption,
    name: Annotated[str, typer.Option("--name", help="A label to recognise the key by.")],
    scopes: Annotated[
        str, typer.Option("--scopes", help="Comma-separated, e.g. data:read,query.")
    ] = "query",
    expires_days: Annotated[
        int | None, typer.Option("--expires-days", min=1, help="Expire after this many days.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Create an API key for a user, limited to the given scopes."""
    try:
        permissions = parse_scopes(split_list(scopes))
    except ValueError as exc:
        fail(str(exc))
    if not permissions:
        fail(f"give at least one scope; known scopes: {', '.join(p.value for p in Permission)}")
    expires = datetime.now(UTC) + timedelta(days=expires_days) if expires_days else None
    created = _run_in_session(_create_key(org, email, name, permissions, expires))
    if as_json:
        print_json(created)
        return
    console.print(f"Created API key {escape(name)!r} with scopes {', '.join(created['scopes'])}")
    _show_key(created["api_key"])


@app.command("rotate-key")
def rotate_key(
    generate: Annotated[
        bool,
        typer.Option(
            "--generate",
            help="First add a new key to data_dir/secrets.key (when RAGAAS_SECRET_KEYS is unset).",
        ),
    ] = False,
) -> None:
    """Re-seal every data-source, webhook and SSO client secret and certificate key with the
    newest key, so older keys can be retired."""
    settings = load_settings()
    if generate:
        if settings.secret_keys is not None:
            fail("--generate writes data_dir/secrets.key; put new keys first in RAGAAS_SECRET_KEYS")
        kid = crypto.add_key_to_file(settings.data_dir)
        console.print(f"added key {kid} to {crypto.key_file(settings.data_dir)}")
    keyring = crypto.keyring_from(settings)

    async def work(session: AsyncSession) -> dict[str, Any]:
        resealed = await sources_service.reseal_all(session, keyring)
        resealed += await notifications_service.reseal_all(session, keyring)
        resealed += await sso_service.reseal_all(session, keyring)
        resealed += await certificate_store.reseal_all(session, keyring)
        details = {"key_id": keyring.current, "resealed": resealed}
        await record_system_event(session, "secrets.rotate", details)
        return {"resealed": resealed}

    result = _run_in_session(work)
    retired = ", ".join(k for k in keyring.keys if k != keyring.current) or "none"
    console.print(
        f"re-sealed {result['resealed']} secrets with key {keyring.current}; "
        f"older keys, now unused and safe to remove: {retired}"
    )


QuotaOption = Annotated[
    str | None,
    typer.Option(help="A number (0: unlimited), or 'default' for the RAGAAS_QUOTA_* default."),
]


@app.command("set-quota")
def set_quota(
    org: OrgOption,
    documents: QuotaOption = None,
    storage_bytes: QuotaOption = None,
    queries_per_day: QuotaOption = None,
    as_json: JsonOption = False,
) -> None:
    """Override an organisation's quotas (documents, stored bytes, queries per UTC day)."""
    changes = {
        quotas.Quota.DOCUMENTS: _quota_value(documents, "--documents"),
        quotas.Quota.STORAGE_BYTES: _quota_value(storage_bytes, "--storage-bytes"),
        quotas.Quota.QUERIES_PER_DAY: _quota_value(queries_per_day, "--queries-per-day"),
    }
    given = {q: v for q, v in changes.items() if v is not _UNCHANGED}
    if not given:
        fail("give at least one of --documents, --storage-bytes, --queries-per-day")
    _print_quota(_run_in_session(_quota_work(org, given)), as_json)


@app.command("quota")
def show_quota(org: OrgOption, as_json: JsonOption = False) -> None:
    """Show an organisation's quotas and what it uses of them."""
    _print_quota(_run_in_session(_quota_work(org, {})), as_json)


_UNCHANGED = object()


def _quota_value(value: str | None, option: str) -> object:
    if value is None:
        return _UNCHANGED
    if value.strip().lower() == "default":
        return None
    if not value.strip().isdigit():
        fail(f"{option}: give a whole number >= 0 (0: unlimited) or 'default'")
    return int(value)


def _quota_work(org: str, given: dict[quotas.Quota, object]) -> Work:
    async def work(session: AsyncSession) -> dict[str, Any]:
        organization = await _find_org(session, org)
        for quota, value in given.items():
            setattr(organization, quotas.column_of(quota), value)
        if given:
            details = {q.value: v for q, v in given.items()}
            record(
                session,
                Actor.system(organization.id),
                "quota.update",
                "organization",
                organization.id,
                details,
            )
            await session.flush()
        defaults = quotas.Defaults.of(load_settings())
        return {
            "organization_id": str(organization.id),
            "limits": {
                q.value: v
                for q, v in (await quotas.limits(session, organization.id, defaults)).items()
            },
            "usage": {
                q.value: v for q, v in (await quotas.usage(session, organization.id)).items()
            },
        }

    return work


def _print_quota(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(result)
        return
    for name, limit in result["limits"].items():
        shown = "unlimited" if limit == 0 else str(limit)
        console.print(f"{name}: {result['usage'][name]} used of {shown}")


def _validate_user(email: str, password: str, role: Role) -> None:
    try:
        UserCreate(email=email, password=password, role=role)
    except ValidationError as exc:
        first = exc.errors()[0]
        fail(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}")
    rule = password_problem(password, email, load_settings().password_min_length)
    if rule is not None:
        fail(f"password: {rule}")


def _show_key(key: str) -> None:
    console.print("API key (shown only once, store it now):")
    console.print(f"  [bold]{key}[/bold]", soft_wrap=True)


def _run_in_session(work: Work) -> dict[str, Any]:
    """Prepare the database, then run ``work(session)`` and commit; AppErrors exit cleanly."""
    settings = load_settings()
    url = resolve_database(settings)
    ensure_schema(settings, url)
    try:
        return run(_in_session(url, work))
    except AppError as exc:
        fail(exc.message)


async def _in_session(url: str, work: Work) -> dict[str, Any]:
    async with database_session(url) as session:
        result = await work(session)
        await session.commit()
        return result


def _bootstrap(org: str, email: str, password: str) -> Work:
    async def work(session: AsyncSession) -> dict[str, Any]:
        organization, user, key = await service.bootstrap(session, org, email, password)
        return {"organization_id": str(organization.id), "user_id": str(user.id), "api_key": key}

    return work


def _create_user(org: str, email: str, password: str, role: Role) -> Work:
    async def work(session: AsyncSession) -> dict[str, Any]:
        organization = await _find_org(session, org)
        user = await service.create_user(session, organization.id, email, password, role)
        return {
            "organization_id": str(organization.id),
            "user_id": str(user.id),
            "email": user.email,
            "role": user.role,
        }

    return work


def _create_key(
    org: str, email: str, name: str, scopes: frozenset[Permission], expires: datetime | None
) -> Work:
    async def work(session: AsyncSession) -> dict[str, Any]:
        organization = await _find_org(session, org)
        user = await _find_user(session, organization, email)
        key, plaintext = await service.create_api_key(session, user, name, scopes, expires)
        return {
            "id": str(key.id),
            "organization_id": str(organization.id),
            "user_id": str(user.id),
            "name": key.name,
            "scopes": key.scopes,
            "expires_at": key.expires_at.isoformat() if key.expires_at else None,
            "api_key": plaintext,
        }

    return work


async def _find_org(session: AsyncSession, name_or_id: str) -> Organization:
    try:
        condition = Organization.id == uuid.UUID(name_or_id)
    except ValueError:
        condition = Organization.name == name_or_id
    found = await session.scalar(select(Organization).where(condition))
    if found is None:
        raise AppError(f"no organisation {name_or_id!r}")
    return found


async def _find_user(session: AsyncSession, org: Organization, email: str) -> User:
    repo = service.UserRepository(session, org.id)
    found = await session.scalar(repo.base().where(User.email == email.strip().lower()))
    if found is None:
        raise AppError(f"no user {email!r} in organisation {org.name!r}")
    user: User = found
    return user
