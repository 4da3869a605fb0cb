"""``socialpub create-user``, ``create-token``, ``revoke-token``: accounts from
the command line (the first user has no one to create them in the web app)."""
from __future__ import annotations

import sys

import click

from .. import schema
from ..config import Settings
from ..errors import AppError
from ..people.roles import ADMIN, ROLES


def _connected():
    return schema.open_existing(Settings.from_env()).connection_context()


@click.command("create-user")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--role", type=click.Choice(ROLES), default=ADMIN, show_default=True,
              help="What the user may do (others are best invited from the Team page).")
def create_user_command(email, password_stdin, role):
    """Create a user who can sign in; prints a generated password unless one is given."""
    from ..people.accounts import create_user

    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    with _connected():
        try:
            user, password = create_user(email, password, role)
        except AppError as exc:
            raise click.ClickException(exc.message) from None
    click.echo(f"Created {user.email} ({user.role})." + ("" if password_stdin else f" Password: {password}"), err=True)


@click.command("create-token")
@click.argument("email")
@click.option("--name", default="command line", show_default=True, help="What the token is for.")
def create_token_command(email, name):
    """Create an API token for a user; prints it alone on standard output (it is shown only this once)."""
    from ..people.accounts import find_user, issue_token

    with _connected():
        try:
            _, plaintext = issue_token(find_user(email), name)
        except AppError as exc:
            raise click.ClickException(exc.message) from None
    click.echo(plaintext)


@click.command("revoke-token")
@click.argument("email")
@click.argument("prefix")
def revoke_token_command(email, prefix):
    """Revoke a user's live token that starts with PREFIX (its first 10 characters, as the account page lists them)."""
    from ..models import ApiToken
    from ..people.accounts import find_user, revoke_token

    if len(prefix) < 10:
        raise click.ClickException("PREFIX: give the token's first 10 characters, as the account page shows them")
    with _connected():
        try:
            user = find_user(email)
        except AppError as exc:
            raise click.ClickException(exc.message) from None
        ids = [t.id for t in ApiToken.select().where(ApiToken.user == user.id, ApiToken.revoked_at.is_null(),
                                                     ApiToken.prefix == prefix[:10])]
        revoked = sum(revoke_token(i, user) for i in ids)
    if not revoked:
        raise click.ClickException(f"{email} has no live token starting with {prefix!r}")
    click.echo(f"Revoked {revoked} token{'s' if revoked > 1 else ''}.", err=True)


COMMANDS = (create_user_command, create_token_command, revoke_token_command)
