"""``campaign persisted register DIR``: trusted documents for CAMPAIGN_TRUSTED_DOCUMENTS."""

from __future__ import annotations

from pathlib import Path

import click

from api.cli.admin import _with_db
from api.cli.base import _settings, main


@main.group()
def persisted() -> None:
    """Persisted GraphQL documents (APQ and trusted documents)."""


@persisted.command("register")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path), nargs=-1)
@click.pass_context
def persisted_register(ctx: click.Context, folder: tuple[Path, ...]) -> None:
    """Register every .graphql file under FOLDER(s) and print its hash.

    The hash is the SHA-256 of the file's exact text, as Apollo's persisted-query link
    computes it for the text it sends. Every document must validate against the schema;
    none is registered otherwise.
    """
    from graphql import GraphQLError, parse, validate

    from api.persisted import register_documents, sha256_of
    from schema.schema import build_schema

    if not folder:
        raise click.UsageError("Name at least one folder of .graphql files.")
    files = sorted({f for d in folder for f in d.rglob("*.graphql")})
    if not files:
        raise click.ClickException(f"No .graphql files under {', '.join(map(str, folder))}.")
    schema = build_schema()._schema
    documents: dict[str, str] = {}
    problems: list[str] = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        try:
            errors = validate(schema, parse(text))
        except GraphQLError as exc:
            errors = [exc]
        problems += [f"{path}: {e.message}" for e in errors]
        documents[sha256_of(text)] = text
    if problems:
        raise click.ClickException("Not registered, invalid documents:\n" + "\n".join(problems))
    new = _with_db(_settings(ctx.find_root()), lambda db: register_documents(db, documents))
    for path in files:
        click.echo(f"{sha256_of(path.read_text(encoding='utf-8'))}  {path}")
    click.echo(f"{len(files)} documents, {new} newly registered.", err=True)
