"""How the command line fails: usage errors (status 2), interruptions (130), and
errors on MPI ranks said once by rank 0.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from .. import distributed as _dist

EXIT_INTERRUPTED = 130  # the shell's status for a process ended by SIGINT


class UsageFailure(click.ClickException):
    """A user error: ``Error: message`` on stderr and exit status 2, as click's usage errors."""

    exit_code = 2


class Commands(click.Group):
    """The command group; a file that cannot be read or written is a message, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OSError as e:
            raise UsageFailure(str(e)) from None


def run_on_all_ranks(ctx: click.Context, body: Callable[[], None]) -> None:
    """Run ``body`` on every MPI rank, so that an error ends every rank, said once.

    Every rank meets the same usage error or divergence (they are decided
    together): rank 0 says it, the others leave with the same status. A file
    rank 0 could not write, or Ctrl-C, aborts all ranks, so none waits forever.
    """
    _dist.init()
    try:
        body()
    except (click.ClickException, click.exceptions.Exit) as e:
        if _dist.is_main():
            raise
        ctx.exit(e.exit_code)
    except OSError as e:  # rank 0 could not write a file: the others must not wait for it
        if _dist.world_size() == 1:
            raise
        _dist.abort(f"Error: {e}", 2)
    except KeyboardInterrupt:
        if _dist.world_size() == 1:
            raise
        _dist.abort("interrupted; the run keeps its last checkpoint (continue with --resume)", 130)
