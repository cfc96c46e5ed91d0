"""The command line's argument parser: argparse's, with its help, usage and error text written
through the public methods, so a failed write reaches :func:`ser_hf.cli.main`'s handlers."""

from __future__ import annotations

import argparse
import sys
from typing import IO, NoReturn


class ArgumentParser(argparse.ArgumentParser):
    """argparse drops an OSError while it writes ``--help`` or a usage error (``ser-hf predict --help >
    /dev/full`` exited 0, the text lost; ``| head`` would too): these writes let it through. A
    description taken from a docstring loses its reST double backquotes (``corpus --help`` showed them)."""

    def __init__(self, *args, description: str | None = None, **kwargs) -> None:
        super().__init__(
            *args, description=description.replace("``", "") if description else description, **kwargs
        )

    def print_usage(self, file: IO[str] | None = None) -> None:
        (file or sys.stdout).write(self.format_usage())

    def print_help(self, file: IO[str] | None = None) -> None:
        (file or sys.stdout).write(self.format_help())

    def error(self, message: str) -> NoReturn:
        """argparse's usage error, with the option meant where an unknown one is close to one (``--top_k``:
        the hyphenated ``--top-k``; ``--modle``: ``--model``)."""
        prefix = "unrecognized arguments: "
        if message.startswith(prefix):
            import difflib

            known = sorted(
                {s for action in self._actions for s in action.option_strings if s.startswith("--")}
            )
            meant = []
            for flag in {t.split("=", 1)[0] for t in message[len(prefix) :].split() if t.startswith("--")}:
                close = [f for f in (flag.replace("_", "-"),) if f in known and f != flag]
                close = close or difflib.get_close_matches(flag, known, n=1, cutoff=0.75)
                meant += [f"{close[0]} for {flag}"] if close else []
            if meant:
                message += f" (did you mean {', '.join(sorted(meant))}?)"
        super().error(message)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            sys.stderr.write(message)
        sys.exit(status)
