"""agnhost, the Kubernetes e2e image, with the subcommands Service tests use.

`agnhost netexec …`, `agnhost serve-hostname …` and `agnhost pause` behave as upstream's (see
those modules); any other subcommand fails as cobra does, naming it.
"""

from __future__ import annotations

from collections.abc import Callable

from kubesvc.node.apps import netexec, pause, serve_hostname
from kubesvc.node.apps._common import FlagError, run

SUBCOMMANDS: dict[str, Callable[[list[str]], int]] = {
    "netexec": netexec.main,
    "serve-hostname": serve_hostname.main,
    "pause": pause.agnhost_pause,
}


def main(argv: list[str]) -> int:
    if not argv:
        raise FlagError(f"a subcommand is required: {', '.join(sorted(SUBCOMMANDS))}")
    command = SUBCOMMANDS.get(argv[0])
    if command is None:
        raise FlagError(f'unknown command "{argv[0]}" for "agnhost"')
    return command(argv[1:])


if __name__ == "__main__":
    run(main)
