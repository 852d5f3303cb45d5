"""A thin recording proxy around the real engine: tests see which engine methods ran, and can hold one.

Every result comes from the wrapped ``index.engine.Engine``; the proxy only records calls and, when a test
asks for it, makes a method wait on an event before running (to keep a call in flight deterministically).
"""

from __future__ import annotations

import functools
import threading
from typing import Any

HOLD_TIMEOUT = 30.0


class RecordingEngine:
    def __init__(self, engine: Any) -> None:
        self.real = engine
        self.calls: list[tuple[str, tuple, dict]] = []
        self.results: list[tuple[str, Any]] = []
        self._holds: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def calls_to(self, name: str) -> list[tuple[tuple, dict]]:
        with self._lock:
            return [(args, kwargs) for called, args, kwargs in self.calls if called == name]

    def returned(self, name: str) -> list[Any]:
        """What the real engine returned from each finished call to ``name``, in order of finishing."""
        with self._lock:
            return [result for called, result in self.results if called == name]

    def hold(self, name: str) -> threading.Event:
        """Calls to ``name`` wait (in their worker thread) until the returned event is set."""
        event = threading.Event()
        self._holds[name] = event
        return event

    def __getattr__(self, name: str) -> Any:
        target = getattr(self.real, name)
        if not callable(target) or name.startswith("_"):
            return target

        @functools.wraps(target)
        def recorded(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self.calls.append((name, args, kwargs))
            held = self._holds.get(name)
            if held is not None and not held.wait(HOLD_TIMEOUT):
                raise TimeoutError(f"engine.{name} was held for more than {HOLD_TIMEOUT} s")
            result = target(*args, **kwargs)
            with self._lock:
                self.results.append((name, result))
            return result

        return recorded
