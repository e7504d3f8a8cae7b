"""The student's function as a server: started confined, used by the lab, stopped by the lab.

    server = ctx.start_student(listener, "/srv/www", binds={"/srv": folder}, limits=Limits(...))
    server.wait_ready(5.0)          # the file is imported and serve() has been called
    ... the lab's clients use it ...
    server.uid()                    # the uid its processes run as (kernel/tasks.py counts them)
    server.stop()                   # its whole sandbox ends; how it ended becomes a problem if it was not normal

The sandbox is the one every call gets (session.py): the student's code
never runs in the grader's process or namespaces. What differs is only
that the lab does not wait for the function to return: a server's normal
end is the lab stopping it. Returning, raising or dying before that is the
student's problem and is named ("your serve() returned after 0.3 s, ...").
"""

from __future__ import annotations

from typing import Callable

from .session import BackgroundCall, CallOutcome


class StudentServer:
    """What `ctx.start_student()` returns (a server that could not start is simply not running)."""

    def __init__(self, call: BackgroundCall | None, function: str, report: Callable[[str], None]) -> None:
        self._call, self.function, self._report = call, function, report
        self.outcome: CallOutcome | None = None

    @property
    def running(self) -> bool:
        return self._call is not None and self._call.running

    def wait_ready(self, timeout: float) -> bool:
        """True once the student's file is imported and its function runs (False: it ended, or too slow)."""
        return self._call is not None and self._call.wait_imported(timeout)

    def uid(self) -> int | None:
        return self._call.uid() if self._call is not None else None

    def stop(self) -> CallOutcome | None:
        """Stop the server (if it still runs); report how it ended unless the lab's stop ended it. Idempotent."""
        if self._call is None or self.outcome is not None:
            return self.outcome
        self.outcome = outcome = self._call.stop()
        name = f"your {self.function}()"
        if outcome.stopped and not outcome.imported:
            self._report(f"{name} was still importing when the lab stopped it")
        elif outcome.stopped:
            pass
        elif outcome.ok:
            self._report(f"{name} returned after {outcome.seconds:.1f} s while the lab's clients still needed it: "
                         "a server runs until it is stopped")
        else:
            self._report(f"{name} {outcome.error}")
        return outcome
