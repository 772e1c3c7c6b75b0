"""The pause image (registry.k8s.io/pause), and agnhost's `pause` subcommand.

Sleeps until SIGTERM or SIGINT. The pause image then exits 0, as its C program does; agnhost's
`pause` prints `Paused` first and exits 2 on SIGTERM, 1 on SIGINT, as upstream does.
"""

from __future__ import annotations

import signal
import sys

from kubesvc.node.apps._common import log, parse_flags, run, wait_for_signal


def main(argv: list[str]) -> int:
    parse_flags(argv, {})
    signum = wait_for_signal()
    sys.stderr.write(f"Shutting down, got signal: {signal.Signals(signum).name}\n")
    return 0


def agnhost_pause(argv: list[str]) -> int:
    parse_flags(argv, {})
    log("Paused")
    signum = wait_for_signal()
    return 2 if signum == signal.SIGTERM else 1


if __name__ == "__main__":
    run(main)
