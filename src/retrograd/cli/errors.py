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

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Run the command; under an MPI launcher, a rank that exits alone stops the job.

        MPI is joined before the arguments are parsed, so that a rank with a
        usage error of its own (click exits before any collective) can stop
        the others, which would otherwise wait for it forever.
        """
        if not _dist.launched_by_mpi():
            return super().main(*args, **kwargs)
        _dist.init()
        try:
            return super().main(*args, **kwargs)
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
            if code and _dist.world_size() > 1 and not _dist.agreed_exit:
                _dist.abort(
                    f"exited with status {code} (its message is above); stopping every rank", code
                )
            raise

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OSError as e:
            raise UsageFailure(str(e)) from None


def agreed(error: click.ClickException) -> click.ClickException:
    """Mark ``error`` as raised on every rank alike (so the ranks exit without aborting)."""
    error.agreed = True  # type: ignore[attr-defined]
    return error


def together(run: Callable[[Callable[[], Any]], Any], fn: Callable[[], Any]) -> Any:
    """``run(fn)`` for ``run_on_main``/``run_everywhere``, whose errors every rank raises."""
    try:
        return run(fn)
    except click.ClickException as e:
        raise agreed(e) from None


def run_on_all_ranks(ctx: click.Context, body: Callable[[], None]) -> None:
    """Run ``body`` on every MPI rank, so that an error ends every rank, said once.

    An error that every rank meets (marked by :func:`agreed`: a divergence,
    the consistency check, what rank 0 checked and sent) is said by rank 0,
    and the others leave with the same status. Any other error is one rank's:
    it says it, naming itself, and aborts the job; so do a file rank 0 could
    not write and Ctrl-C, so that no rank waits forever.
    """
    _dist.init()
    try:
        body()
    except (click.ClickException, click.exceptions.Exit) as e:
        if isinstance(e, click.exceptions.Exit) or getattr(e, "agreed", False):
            _dist.agreed_exit = True
            if _dist.is_main():
                raise
            ctx.exit(e.exit_code)
        if _dist.is_main():
            raise  # click prints it; the exit then stops the other ranks (Commands.main)
        _dist.abort(f"Error: {e.format_message()}", e.exit_code)
    except OSError as e:  # rank 0 could not write a file: the others must not wait for it
        if _dist.world_size() == 1:
            raise
        _dist.abort(f"Error: {e}", 2)
    except KeyboardInterrupt:
        if _dist.world_size() == 1:
            raise
        _dist.abort("interrupted; the run keeps its last checkpoint (continue with --resume)", 130)
