"""Run a function in a fresh (spawned) Python process.

Each log size is measured in a process of its own, so its peak RSS is that size's alone (ru_maxrss only ever
grows), and the synthetic log is generated in yet another process, so the generator's arrays never count
towards the pipeline's memory.
"""

from __future__ import annotations

import multiprocessing as mp
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, TypeVar

T = TypeVar("T")


def _child(sender: Connection, func: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        sender.send(("ok", func(*args)))
    except BaseException:  # the parent re-raises it with the child's traceback
        sender.send(("error", traceback.format_exc()))
    finally:
        sender.close()


def call_in_child(func: Callable[..., T], *args: Any) -> T:
    """func(*args) in a spawned, non-daemon process (it may start processes of its own: dbt, generators)."""
    context = mp.get_context("spawn")  # no fork: the child must not inherit open connections or threads
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(sender, func, args), name=func.__name__)
    process.start()
    sender.close()
    try:
        status, payload = receiver.recv()
    except EOFError:
        process.join()
        raise ChildProcessError(f"{func.__name__} died without a result (exit code {process.exitcode})") from None
    finally:
        receiver.close()
    process.join()
    if status == "error":
        raise ChildProcessError(f"{func.__name__} failed in a child process:\n{payload}")
    return payload
