"""The `kubesvc` command: wiring only. Each subcommand runs one component in the foreground."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import os
import signal
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from kubesvc.lib import logs

DEFAULT_DATA_DIR = Path(os.environ.get("KUBESVC_DATA_DIR", "/var/lib/kubesvc"))


def _data_dir_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help="where the store and kubeconfig live (default: %(default)s, or $KUBESVC_DATA_DIR)",
    )


def _apiserver_args(parser: argparse.ArgumentParser) -> None:
    _data_dir_arg(parser)
    parser.add_argument(
        "--bind-address", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=6443,
        help="port to listen on; 0 picks a free one (default: %(default)s)",
    )
    parser.add_argument(
        "--advertise-address",
        default="",
        help="address published in the kubernetes Endpoints (default: bind address)",
    )
    parser.add_argument(
        "--service-cluster-ip-range",
        default="10.96.0.0/12",
        help="CIDR ClusterIPs are allocated from (default: %(default)s)",
    )
    parser.add_argument(
        "--service-node-port-range",
        default="30000-32767",
        help="NodePort range (default: %(default)s)",
    )
    parser.add_argument(
        "--repair-interval",
        type=float,
        default=60.0,
        help="seconds between allocation-table repair passes (default: %(default)s)",
    )
    parser.add_argument(
        "--store-history",
        type=int,
        default=20000,
        help="revisions of change history kept for watches; a watch from an older one gets "
        "410 Expired (default: %(default)s)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kubesvc",
        description="Kubernetes Service networking, for real, on one Linux machine.",
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output (-v info, -vv debug)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    up = sub.add_parser("up", help="run the cluster's control plane in the foreground")
    _apiserver_args(up)
    api = sub.add_parser("apiserver", help="serve the Kubernetes API alone")
    _apiserver_args(api)
    kc = sub.add_parser("kubeconfig", help="print the kubeconfig of a running API server")
    _data_dir_arg(kc)
    return parser


def _config(args: argparse.Namespace) -> Any:
    from kubesvc.apiserver.server import Config

    return Config(
        data_dir=args.data_dir,
        bind_address=args.bind_address,
        port=args.port,
        advertise_address=args.advertise_address,
        service_cidr=args.service_cluster_ip_range,
        node_port_range=args.service_node_port_range,
        repair_interval=args.repair_interval,
        store_history=args.store_history,
    )


async def _until_signalled(main: Coroutine[Any, Any, None]) -> None:
    task = asyncio.ensure_future(main)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _up(args: argparse.Namespace) -> None:
    from kubesvc.apiserver.server import kubeconfig_path, serve

    config = _config(args)
    started = asyncio.Event()
    print(f"kubesvc up: data dir {config.data_dir}", flush=True)
    print(f"  starting API server on {config.bind_address}:{config.port} ...", flush=True)
    task = asyncio.ensure_future(serve(config, started))
    waiter = asyncio.ensure_future(started.wait())
    done, _ = await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        waiter.cancel()
        task.result()
        return
    path = kubeconfig_path(config.data_dir)
    print("  API server ready (store, allocation tables repaired, default namespaces)", flush=True)
    print(
        "  nodes: none yet - node agents, pods and the proxy are not part of this build", flush=True
    )
    print(
        f"\nUse it:\n  export KUBECONFIG={path}\n  kubectl get svc\nStop with Ctrl-C.", flush=True
    )
    try:
        await task
    finally:
        print("kubesvc up: stopped", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logs.setup(args.verbose)
    if args.command is None:
        parser.print_help()
        return 2
    if args.command == "kubeconfig":
        from kubesvc.apiserver.server import kubeconfig_path

        path = kubeconfig_path(args.data_dir)
        if not path.exists():
            print(
                f"error: no kubeconfig at {path}; is `kubesvc apiserver --data-dir "
                f"{args.data_dir}` running?",
                file=sys.stderr,
            )
            return 1
        sys.stdout.write(path.read_text())
        return 0
    try:
        if args.command == "apiserver":
            from kubesvc.apiserver.server import serve

            asyncio.run(_until_signalled(serve(_config(args))))
        elif args.command == "up":
            asyncio.run(_until_signalled(_up(args)))
    except PermissionError as exc:
        print(
            f"error: {exc}\n  choose a data directory you can write with --data-dir DIR "
            "(or $KUBESVC_DATA_DIR)",
            file=sys.stderr,
        )
        return 1
    except OSError as exc:
        hint = ""
        if exc.errno == errno.EADDRINUSE:
            hint = (
                "\n  the port is taken: is another kubesvc API server running? "
                "Stop it, or pick another with --port"
            )
        print(f"error: {exc}{hint}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
