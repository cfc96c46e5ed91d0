"""The package's exception type.

Every error that ``ser_hf`` raises on purpose is a :class:`SERError`, so a caller (the CLI, the
demo, a server) can catch one class and show its message. The message names the input (a path or
a short description) and what to do about it.

This file is copied next to a saved model (remote code), so it imports nothing from ``ser_hf``.
"""

from __future__ import annotations


class SERError(ValueError):
    """A problem with the user's input, data or model folder, with a message that says the fix.

    Subclasses :class:`ValueError` so code written against the stock ``transformers`` behaviour
    (which raises ``ValueError`` for bad audio) keeps working.
    """

    def __init__(self, message: str, *, source: str | None = None):
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)
