"""How the CLI reports a user's mistake."""

from __future__ import annotations


class CliError(Exception):
    """A problem the user can fix; printed as one line with a non-zero exit code."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code
