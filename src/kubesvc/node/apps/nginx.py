"""The nginx image: the "Welcome to nginx!" page on port 80.

With an nginx binary on the host (`/usr/sbin/nginx`, or `nginx` on PATH) it runs that nginx in
the foreground with a minimal generated configuration in a temporary directory: one server on
the port, serving `/usr/share/nginx/html` or `/var/www/html` (whichever has an index page, else
a copy of the default page), access log on stdout. SIGTERM and SIGINT are passed on and the
directory is removed once nginx exits. Without a binary (or with KUBESVC_NGINX=python) a Python
server answers the same page, nginx's 404 elsewhere, and logs in nginx's format.
`--port` (default 80, or KUBESVC_APP_PORT) sets the port.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from kubesvc.node.apps._common import (
    HTTPServer,
    bind_host,
    default_port,
    parse_flags,
    run,
    serve,
)
from kubesvc.node.apps._static import StaticHandler

WELCOME_PAGE = b"""<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
<style>
html { color-scheme: light dark; }
body { width: 35em; margin: 0 auto;
font-family: Tahoma, Verdana, Arial, sans-serif; }
</style>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the nginx web server is successfully installed and
working. Further configuration is required.</p>

<p>For online documentation and support please refer to
<a href="http://nginx.org/">nginx.org</a>.<br/>
Commercial support is available at
<a href="http://nginx.com/">nginx.com</a>.</p>

<p><em>Thank you for using nginx.</em></p>
</body>
</html>
"""
ROOTS = (Path("/usr/share/nginx/html"), Path("/var/www/html"))
INDEXES = ("index.html", "index.htm", "index.nginx-debian.html")


def find_binary() -> str | None:
    if os.environ.get("KUBESVC_NGINX") == "python":
        return None
    if os.access("/usr/sbin/nginx", os.X_OK):
        return "/usr/sbin/nginx"
    return shutil.which("nginx")


def find_root(scratch: Path) -> Path:
    """A directory with nginx's default index page: the host's, else a copy in `scratch`."""
    for root in ROOTS:
        if any((root / index).is_file() for index in INDEXES):
            return root
    root = scratch / "html"
    root.mkdir(exist_ok=True)
    (root / "index.html").write_bytes(WELCOME_PAGE)
    return root


def render_config(scratch: Path, host: str, port: int, root: Path) -> str:
    """A self-contained nginx.conf: one server, everything else under `scratch`."""
    listen = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    mime = Path("/etc/nginx/mime.types")
    types = f"include {mime};" if mime.is_file() else "types { text/html html htm; }"
    temps = "\n".join(
        f"    {kind}_temp_path {scratch / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""daemon off;
worker_processes 1;
pid {scratch / "nginx.pid"};
error_log stderr notice;
events {{ worker_connections 1024; }}
http {{
    {types}
    default_type application/octet-stream;
    log_format main '$remote_addr - $remote_user [$time_local] "$request" '
                    '$status $body_bytes_sent "$http_referer" '
                    '"$http_user_agent" "$http_x_forwarded_for"';
    access_log /dev/stdout main;
{temps}
    server {{
        listen {listen};
        root {root};
        index {" ".join(INDEXES)};
        location / {{ try_files $uri $uri/ =404; }}
    }}
}}
"""


def run_nginx(binary: str, host: str, port: int) -> int:
    with tempfile.TemporaryDirectory(prefix="kubesvc-nginx-") as tmp:
        scratch = Path(tmp)
        scratch.chmod(0o755)  # nginx's workers run as nobody when started by root
        conf = scratch / "nginx.conf"
        conf.write_text(render_config(scratch, host, port, find_root(scratch)))
        proc = subprocess.Popen([binary, "-e", "stderr", "-p", tmp, "-c", str(conf)])

        def forward(signum: int, _frame: object) -> None:
            proc.send_signal(signum)

        signal.signal(signal.SIGTERM, forward)
        signal.signal(signal.SIGINT, forward)
        return proc.wait()


def main(argv: list[str]) -> int:
    flags = parse_flags(argv, {"port": default_port(80)})
    host, port = bind_host(), int(flags["port"])
    binary = find_binary()
    if binary is not None:
        return run_nginx(binary, host, port)
    pages = {"/": WELCOME_PAGE, "/index.html": WELCOME_PAGE}
    handler = type("NginxHandler", (StaticHandler,), {"pages": pages, "server_header": "nginx"})
    serve([HTTPServer((host, port), handler)])
    return 0


if __name__ == "__main__":
    run(main)
