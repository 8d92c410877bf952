"""How the command line fails: usage errors (status 2), failed runs (1), interruptions
(130), a closed pipe (141), and errors on MPI ranks said once by rank 0.

Every way out is one ``Error: ...`` line on stderr and a documented status
(docs/cli.md), never a traceback: :meth:`Commands.invoke` is the guard that
turns whatever a command raises into one.
"""

from __future__ import annotations

import errno
import os
import sys
import warnings
from collections.abc import Callable
from typing import Any

import click

from .. import __version__
from .. import distributed as _dist

EXIT_FAILED = 1  # the command ran but failed: divergence, a file it could not write, a bug
EXIT_USAGE = 2  # click's status for usage errors; ours for bad input files too
EXIT_INTERRUPTED = 130  # the shell's status for a process ended by SIGINT
EXIT_CLOSED_PIPE = 141  # the shell's status for a process ended by SIGPIPE (128 + 13)

#: Set to 1 to see the traceback of an unexpected error (for a bug report).
DEBUG_VARIABLE = "RETROGRAD_DEBUG"


class UsageFailure(click.ClickException):
    """A user error: ``Error: message`` on stderr and exit status 2, as click's usage errors."""

    exit_code = EXIT_USAGE


class RunFailure(click.ClickException):
    """A command that ran and failed (a file it could not write): ``Error: message``, status 1."""

    exit_code = EXIT_FAILED


def describe_os_error(e: OSError) -> str:
    """An OSError as one line naming the file: ``cannot write FILE: No space left on device``."""
    reason = e.strerror or str(e)
    if e.filename is None:
        return reason
    other = f" -> {e.filename2}" if e.filename2 is not None else ""
    return f"{e.filename}{other}: {reason}"


def _show_warning(message: Warning | str, category: type[Warning], *args: Any, **kw: Any) -> None:
    """A warning as one ``Warning: ...`` line, without the internal file and line it came from."""
    click.echo(f"Warning: {message}", err=True)


def _silence_closed_pipe() -> None:
    """Point stdout at /dev/null, so that the flush at exit does not fail on the closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout is not a real file: nothing to flush
        pass


def unexpected(e: BaseException) -> click.ClickException:
    """The one line for an exception no command expected: its type, and a request to report it."""
    if isinstance(e, ModuleNotFoundError) and e.name:
        error = RunFailure(
            f"this command needs the Python package {e.name!r}, which is not installed; "
            "install the command line's dependencies with: pip install 'retrograd[cli]'"
        )
        return error
    if isinstance(e, MemoryError):
        return RunFailure(
            f"out of memory ({e or 'no details'}); use smaller layers, batches or data"
        )
    text = str(e).strip().splitlines()
    detail = f": {text[0]}" if text else ""
    return RunFailure(
        f"unexpected {type(e).__name__}{detail}. This is a bug in retrograd {__version__}; "
        f"please report it with the command you ran (run it again with {DEBUG_VARIABLE}=1 "
        "to see the traceback)"
    )


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
        """Run the command; whatever it raises becomes one ``Error:`` line and a status.

        click's own exceptions pass (they print themselves); a closed stdout
        (``retrograd datasets | head -1``) ends quietly with 141, as SIGPIPE
        would; Ctrl-C is 130 (click's default would say "Aborted!" with 1); a
        file that cannot be read or written is a usage error naming it; anything
        else is a bug, said in one line with the exception's type.
        """
        try:
            with warnings.catch_warnings():
                warnings.showwarning = _show_warning
                return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except BrokenPipeError:
            _silence_closed_pipe()
            raise click.exceptions.Exit(EXIT_CLOSED_PIPE) from None
        except KeyboardInterrupt:
            click.echo("\nInterrupted.", err=True)
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
        except OSError as e:
            if e.errno == errno.EPIPE:
                _silence_closed_pipe()
                raise click.exceptions.Exit(EXIT_CLOSED_PIPE) from None
            if e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EIO):
                raise RunFailure(describe_os_error(e)) from None
            raise UsageFailure(describe_os_error(e)) from None
        except Exception as e:
            if os.environ.get(DEBUG_VARIABLE):
                raise
            raise unexpected(e) from None


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
