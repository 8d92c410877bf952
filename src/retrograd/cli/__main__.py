"""``python -m retrograd.cli``: the command line (see :mod:`retrograd.cli`)."""

from retrograd.cli import main

if __name__ == "__main__":
    main(prog_name="retrograd")
