"""Writes a few at a time, as many as the server bears.

`run_adaptive(items, fn, parallel=4, pressure=http.busy_seen)` calls `fn(item)` for each item with at
most `limit` calls running. The limit starts at `parallel`, halves when a write meets a busy server (a
busy 5xx or a 429 raised, or busy answers the HTTP layer retried, read through `pressure`), at most once per
round of writes, and grows by one after a run of clean writes (AIMD, as TCP does). A SQLite-backed
Nextcloud thus settles near one writer; a server that copes keeps `parallel`.

Per item, a ServerError is a failure of that item (423, 507, 412 ...), collected for the caller; one
that failed only because the server stayed busy is tried once more at the end of the queue. A fatal
error (AuthError, UnreachableError, or a bug) stops at once: nothing queued is started, the writes
already running finish, then the error is raised.
"""
from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from connector.dav.http import is_busy_error
from connector.errors import AuthError, RateLimited, ServerError, UnreachableError

log = logging.getLogger("plan-connector.pool")

T = TypeVar("T")
FATAL = (AuthError, UnreachableError)


class AdaptiveLimit:
    """How many writes may run now, between `floor` and `ceiling`.

    Halves on a busy answer (once per round: writes started before a cut do not cut again); grows by one
    after `patience` x limit clean writes in a row. Each cut doubles the patience (up to `max_patience`),
    so a server that is busy whenever it gets a second writer (SQLite) is probed ever more rarely.
    """

    def __init__(self, ceiling: int, *, floor: int = 1, grow_after: int = 4, max_patience: int = 256):
        self.ceiling = max(1, ceiling)
        self.floor = max(1, min(floor, self.ceiling))
        self.patience = grow_after
        self.max_patience = max_patience
        self.value = self.ceiling
        self.lowest = self.value
        self.round = 0  # bumped at each cut
        self._clean = 0

    def busy(self, started_in: int) -> None:
        self._clean = 0
        if started_in != self.round or self.value == self.floor:
            return
        before, self.value = self.value, max(self.floor, self.value // 2)
        self.round += 1
        self.patience = min(self.max_patience, self.patience * 2)
        self.lowest = min(self.lowest, self.value)
        log.info("server busy: %d writes at a time instead of %d", self.value, before)

    def ok(self) -> None:
        self._clean += 1
        if self.value < self.ceiling and self._clean >= self.patience * self.value:
            self.value += 1
            self._clean = 0
            log.debug("server coping: %d writes at a time", self.value)


@dataclass
class PoolResult(Generic[T]):
    done: int = 0  # items whose fn returned
    failed: list[tuple[T, ServerError]] = field(default_factory=list)  # in completion order
    busy: int = 0  # items that met a busy server (retried or failed)
    lowest: int = 0  # the fewest writes at a time the server was given


def run_adaptive(items: Iterable[T], fn: Callable[[T], object], *, parallel: int,
                 pressure: Callable[[], int] | None = None, grow_after: int = 4,
                 requeue: int = 1) -> PoolResult[T]:
    """Call fn(item) for every item, adaptively in parallel (see the module docstring).

    `pressure` returns how many busy answers the calling thread has met so far (HttpClient.busy_seen).
    An item that still failed because the server was busy (5xx, not a 429 quota) goes back to the end
    of the queue, up to `requeue` times: by then fewer writers compete (fn must be safe to call again,
    as conditional writes and MKCOL are). Raises the first fatal error once the writes already running
    have finished.
    """
    limit = AdaptiveLimit(parallel, grow_after=grow_after)
    result: PoolResult[T] = PoolResult(lowest=limit.value)
    queue: deque[tuple[int, T]] = deque(enumerate(items))
    again: dict[int, int] = {}  # item index -> times requeued

    def call(item: T) -> tuple[int, Exception | None]:
        before = pressure() if pressure else 0
        try:
            fn(item)
            exc = None
        except Exception as e:  # noqa: BLE001 - sorted below: per item or fatal
            exc = e
        return (pressure() - before if pressure else 0), exc

    fatal: Exception | None = None

    def settle(index: int, item: T, started_in: int, busy: int, exc: Exception | None) -> None:
        nonlocal fatal
        if exc is not None and (isinstance(exc, FATAL) or not isinstance(exc, ServerError)):
            fatal = fatal or exc
            return
        if busy or is_busy_error(exc):
            result.busy += 1
            limit.busy(started_in)
        else:
            limit.ok()
        if exc is None:
            result.done += 1
        elif is_busy_error(exc) and not isinstance(exc, RateLimited) and again.get(index, 0) < requeue:
            again[index] = again.get(index, 0) + 1
            log.info("server busy: %s goes back to the queue", exc)
            queue.append((index, item))
        else:
            result.failed.append((item, exc))

    if limit.ceiling == 1 or len(queue) < 2:
        while queue and fatal is None:
            index, item = queue.popleft()
            settle(index, item, limit.round, *call(item))
    else:
        with ThreadPoolExecutor(max_workers=limit.ceiling, thread_name_prefix="write") as pool:
            running: dict = {}
            while queue or running:
                while queue and fatal is None and len(running) < limit.value:
                    index, item = queue.popleft()
                    running[pool.submit(call, item)] = (index, item, limit.round)
                if not running:
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in done:
                    index, item, started_in = running.pop(fut)
                    settle(index, item, started_in, *fut.result())
    result.lowest = limit.lowest
    if fatal is not None:
        if queue:
            log.info("stopped: %d writes not sent after %s", len(queue), type(fatal).__name__)
        raise fatal
    return result
