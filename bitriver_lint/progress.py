"""Progress on stderr for a scan that takes a while, and only where a person watches it.

Nothing is shown on a stderr that is not a terminal (CI logs, pipes, pre-commit's captured
output), nor for a scan that ends within ``DELAY`` seconds (most pre-commit runs). Rich is
imported only when the display actually starts: the CLI's start-up time is paid on every commit.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any, TextIO

DELAY = 1.0  # seconds before anything is shown


class Progress:
    """A context manager; ``stage(text)`` names what the scan does now (``engine.scan`` calls it)."""

    def __init__(self, stream: TextIO, *, delay: float | None = None) -> None:
        self._stream = stream
        self._delay = DELAY if delay is None else delay
        self._text = "scanning"
        self._lock = threading.Lock()
        self._status: Any = None
        self._timer: threading.Timer | None = None
        self._closed = False
        try:
            self.enabled = stream.isatty()
        except (AttributeError, ValueError, OSError):  # a closed or unusual stream
            self.enabled = False

    def __enter__(self) -> Progress:
        if self.enabled:
            self._timer = threading.Timer(self._delay, self._start)
            self._timer.daemon = True
            self._timer.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        with self._lock:
            self._closed = True
            if self._status is not None:
                self._status.stop()
                self._status = None

    def stage(self, text: str) -> None:
        with self._lock:
            self._text = text
            if self._status is not None:
                self._status.update(self._message())

    def _message(self) -> Any:
        from rich.text import Text  # loaded already once the display runs

        return Text(f"bitriver-lint: {self._text}…")

    def _start(self) -> None:
        from rich.console import Console

        with self._lock:
            if self._closed:
                return
            # Plain Text: a stage name is never read as markup.
            console = Console(file=self._stream, force_terminal=True, highlight=False)
            self._status = console.status(self._message(), spinner="dots")
            self._status.start()
