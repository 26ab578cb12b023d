"""The progress bar every long-running command shows on stderr."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def progress_bar(console: Console, *, counts_items: bool = True) -> Progress:
    """A transient bar: "done of total" for items, a percentage for bytes and the like.

    Outside a terminal it stays silent: there a bar is noise, and it would put a blank line
    before an error message; logs get the command's summary line instead. It never captures
    standard output, which rich does by default: a command's results written there (NDJSON,
    CSV) would otherwise go to the terminal instead of the file or pipe they were sent to.
    """
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn() if counts_items else TaskProgressColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
        redirect_stdout=False,
        redirect_stderr=False,
    )
