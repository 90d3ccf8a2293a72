"""The SIGTERM handler of :class:`server.probe.Lifecycle`, in a process of its own."""

from __future__ import annotations

import subprocess
import sys
import textwrap

# A stream that delivers SIGTERM to its own process while a log line is being written: the
# handler then runs inside the logger's write, under its lock, as a signal can at any time.
SCRIPT = textwrap.dedent(
    """
    import asyncio, os, signal, structlog
    from server.probe import Lifecycle

    class Stream:
        def __init__(self):
            self.lines, self.fired = [], False
        def write(self, text):
            if not self.fired:
                self.fired = True
                os.kill(os.getpid(), signal.SIGTERM)
            self.lines.append(text)
        def flush(self):
            pass

    stream = Stream()
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=stream),
                        cache_logger_on_first_use=False)
    called = []

    async def main():
        signal.signal(signal.SIGTERM, lambda signum, frame: called.append(signum))
        lifecycle = Lifecycle()
        lifecycle.on_sigterm(0.01)
        structlog.get_logger().info("busy")  # the signal arrives in here
        await asyncio.sleep(0.2)
        assert lifecycle.draining
        assert called == [signal.SIGTERM], called
        assert any("app.draining" in line for line in stream.lines), stream.lines

    asyncio.run(main())
    print("ok")
    """
)


def test_a_sigterm_during_a_log_line_drains_and_hands_on() -> None:
    # Run apart: a handler that logs would wait for the logger's lock forever.
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
