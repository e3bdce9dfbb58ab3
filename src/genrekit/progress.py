"""Progress reporting that suits both a terminal and a log file.

On a terminal (stderr is a TTY) a rich progress bar is drawn; otherwise (CI, a pipe, a
log file) one plain line is printed at every tenth of the work, so logs stay readable.
"""

from __future__ import annotations

import sys
import time

__all__ = ["Progress"]


class Progress:
    """A context manager that counts finished items.

    Parameters
    ----------
    total : int
    description : str
    enabled : bool
        ``False`` prints nothing at all.
    stream : file, optional
        Defaults to ``sys.stderr``.

    Examples
    --------
    >>> with Progress(len(paths), "features") as progress:     # doctest: +SKIP
    ...     for path in paths:
    ...         progress.advance(status="ok")
    """

    def __init__(self, total: int, description: str, enabled: bool = True, stream=None):
        self.total = max(int(total), 0)
        self.description = description
        self.enabled = enabled and self.total > 0
        self.stream = stream if stream is not None else sys.stderr
        self.done = 0
        self._bar = None
        self._next_line = 0
        self._start = time.perf_counter()

    def __enter__(self) -> "Progress":
        if self.enabled and getattr(self.stream, "isatty", lambda: False)():
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn,
                                       TimeRemainingColumn)
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                     TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[info]}"),
                                     console=Console(file=self.stream), transient=False)
            self._bar.start()
            self._task = self._bar.add_task(self.description, total=self.total, info="")
        return self

    def advance(self, n: int = 1, info: str = "") -> None:
        """Count ``n`` more items done; ``info`` is shown beside the bar."""
        self.done += n
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(self._task, advance=n, info=info)
            return
        if self.done >= self._next_line or self.done >= self.total:
            elapsed = time.perf_counter() - self._start
            suffix = f" {info}" if info else ""
            print(f"{self.description}: {self.done}/{self.total} ({elapsed:.1f} s){suffix}",
                  file=self.stream, flush=True)
            self._next_line = self.done + max(1, self.total // 10)

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.stop()
