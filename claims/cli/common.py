"""What every command shares: one unit of work on the database, and how refusals and problems are printed."""

from __future__ import annotations

import sys
from contextlib import contextmanager

import click

from claims.problems import ProblemsFound


class Refused(click.ClickException):
    exit_code = 2


def _refuse(refusal) -> None:
    click.echo(f"拒绝：{refusal.message} [{refusal.code}]", err=True)
    sys.exit(1)


@contextmanager
def _work(ctx: click.Context, initialised: bool = True):
    """One unit of work on the database: committed whole or not at all; refusals exit 1, bad input 2."""
    from claims.bulk import collector_paused
    from claims.engine import ValueNotInForce
    from claims.store.database import NotInitialised, Store, check_initialised
    from claims.workflow.errors import Refusal

    store = Store(ctx.obj["db"])
    try:
        if initialised:
            check_initialised(store.engine)
        with collector_paused(), store.session() as session:
            yield session
    except NotInitialised as error:
        click.echo(str(error), err=True)
        sys.exit(2)
    except Refusal as refusal:
        _refuse(refusal)
    except ProblemsFound as found:
        _fail(found)
    except ValueNotInForce as error:  # a dated value with nothing in force for the period: complete the policy
        click.echo(f"[POLICY_VALUE_NOT_IN_FORCE] {error}", err=True)
        sys.exit(2)
    finally:
        store.dispose()


def _fail(problems: ProblemsFound) -> None:
    for problem in problems.problems:
        click.echo(str(problem), err=True)
    click.echo(f"共 {len(problems.problems)} 个问题，未做任何处理。", err=True)
    sys.exit(2)
