"""An nginx-like static site: fixed pages, nginx's 404 page and its `main` access log format.

Used by the myapp image (nginx serving two generated pages) and by the nginx image when the
host has no nginx binary.
"""

from __future__ import annotations

import time
from typing import ClassVar
from urllib.parse import urlsplit

from kubesvc.node.apps._common import Handler, log


def not_found_page(server: str) -> bytes:
    return (
        "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n"
        f"<center><h1>404 Not Found</h1></center>\r\n<hr><center>{server}</center>\r\n"
        "</body>\r\n</html>\r\n"
    ).encode()


class StaticHandler(Handler):
    """Serves `pages` (path → body, all text/html) and logs as nginx's `main` format does."""

    pages: ClassVar[dict[str, bytes]] = {}
    server_header = "nginx"

    def handle_get(self) -> None:
        path = urlsplit(self.path).path
        body = self.pages.get(path)
        if body is None:
            status, body = 404, not_found_page(self.server_header or "nginx")
        else:
            status = 200
        self.reply(status, body, "text/html")
        self.access_log(status, len(body) if self.command != "HEAD" else 0)

    def access_log(self, status: int, size: int) -> None:
        stamp = time.strftime("%d/%b/%Y:%H:%M:%S %z")
        referer = self.headers.get("Referer") or "-"
        agent = self.headers.get("User-Agent") or "-"
        forwarded = self.headers.get("X-Forwarded-For") or "-"
        log(
            f'{self.client_address[0]} - - [{stamp}] "{self.requestline}" {status} {size} '
            f'"{referer}" "{agent}" "{forwarded}"'
        )
