"""The command line's argument parser: argparse's, with its help, usage and error text written
through the public methods, so a failed write reaches :func:`ser_hf.cli.main`'s handlers."""

from __future__ import annotations

import argparse
import sys
from typing import IO, NoReturn


class ArgumentParser(argparse.ArgumentParser):
    """argparse drops an OSError while it writes ``--help`` or a usage error (``ser-hf predict --help >
    /dev/full`` exited 0, the text lost; ``| head`` would too): these writes let it through."""

    def print_usage(self, file: IO[str] | None = None) -> None:
        (file or sys.stdout).write(self.format_usage())

    def print_help(self, file: IO[str] | None = None) -> None:
        (file or sys.stdout).write(self.format_help())

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            sys.stderr.write(message)
        sys.exit(status)
