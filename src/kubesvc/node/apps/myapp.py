"""wangyanglinux/myapp:vN: nginx serving a version page and the pod's hostname on port 80.

`/` (and `/index.html`) answers `Hello MyApp | Version: vN | <a href="hostname.html">Pod
Name</a>` and a newline, `/hostname.html` the hostname and a newline; anything else is nginx's
404. Flags: `--version vN` (the image tag), `--port` (default 80, or KUBESVC_APP_PORT).
"""

from __future__ import annotations

from kubesvc.node.apps._common import (
    HTTPServer,
    bind_host,
    default_port,
    hostname,
    parse_flags,
    run,
    serve,
)
from kubesvc.node.apps._static import StaticHandler


def index_page(version: str) -> bytes:
    return f'Hello MyApp | Version: {version} | <a href="hostname.html">Pod Name</a>\n'.encode()


def main(argv: list[str]) -> int:
    flags = parse_flags(argv, {"version": "v1", "port": default_port(80)})
    index = index_page(str(flags["version"]))
    pages = {"/": index, "/index.html": index, "/hostname.html": f"{hostname()}\n".encode()}
    handler = type(
        "MyAppHandler", (StaticHandler,), {"pages": pages, "server_header": "nginx/1.12.2"}
    )
    serve([HTTPServer((bind_host(), int(flags["port"])), handler)])
    return 0


if __name__ == "__main__":
    run(main)
