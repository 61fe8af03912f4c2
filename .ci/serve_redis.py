"""Serve one embedded Redis Stack server for .ci/run's REDIS_URL step.

Prints the server's URL (127.0.0.1, a free port) on stdout, then serves until SIGTERM or
SIGINT; the server stops with this process (and, on Linux, also if it is killed).
"""

from __future__ import annotations

import signal
import sys

from assimilator_stack.testing import RedisStackServer


def main() -> None:
    def stop(signum: int, frame: object) -> None:
        sys.exit(0)  # leaves the with-block: the server is stopped

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with RedisStackServer() as server:
        print(server.url, flush=True)
        while True:
            signal.pause()


if __name__ == "__main__":
    main()
