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
    up = sub.add_parser("up", help="run a whole cluster (network, API server, controllers, nodes)")
    _data_dir_arg(up)
    up.add_argument("--nodes", type=int, default=3, help="how many nodes (default: %(default)s)")
    up.add_argument(
        "--proxy-mode",
        choices=["iptables", "userspace"],
        default="iptables",
        help="how Services are implemented on the nodes (default: %(default)s)",
    )
    up.add_argument("--pod-cidr", default="10.244.0.0/16", help="(default: %(default)s)")
    up.add_argument("--service-cidr", default="10.96.0.0/12", help="(default: %(default)s)")
    up.add_argument("--node-cidr", default="172.18.0.0/16", help="(default: %(default)s)")
    up.add_argument("--port", type=int, default=6443, help="API server port (default: %(default)s)")
    up.add_argument(
        "--node-monitor-grace-period",
        type=float,
        default=40.0,
        help="seconds without a node heartbeat before the node is NotReady (default: %(default)s)",
    )
    api = sub.add_parser("apiserver", help="serve the Kubernetes API alone")
    _apiserver_args(api)
    node = sub.add_parser("node", help="run one node agent (started by `up`)")
    _data_dir_arg(node)
    node.add_argument("--name", required=True, help="the node's name, e.g. node-1")
    shell = sub.add_parser("node-shell", help="run a command (default: a shell) on a node")
    _data_dir_arg(shell)
    shell.add_argument("node", help="node name, e.g. node-1")
    shell.add_argument("cmd", nargs=argparse.REMAINDER, help="-- CMD ARGS...")
    pe = sub.add_parser("pod-exec", help="run a command in a pod, on its node (as root)")
    _data_dir_arg(pe)
    pe.add_argument("-n", "--namespace", default="default")
    pe.add_argument("-c", "--container", default=None)
    pe.add_argument("pod")
    pe.add_argument("cmd", nargs=argparse.REMAINDER, help="-- CMD ARGS...")
    px = sub.add_parser("proxy", help="kube-proxy for one node (run inside the node's netns)")
    px.add_argument("--server", required=True, help="the API server URL")
    px.add_argument("--node", required=True, help="this node's name")
    px.add_argument("--node-ip", required=True, help="this node's InternalIP")
    px.add_argument("--cluster-cidr", default="10.244.0.0/16", help="(default: %(default)s)")
    rules = sub.add_parser("rules", help="print the iptables rules kube-proxy keeps on a node")
    _data_dir_arg(rules)
    rules.add_argument("node", nargs="?", default="node-1", help="(default: %(default)s)")
    cm = sub.add_parser("controller-manager", help="run the controllers against an API server")
    _data_dir_arg(cm)
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


async def _controller_manager(data_dir: Path) -> None:
    from kubesvc.apiserver.server import kubeconfig_path
    from kubesvc.client import Client
    from kubesvc.controllers.manager import run

    async with Client.from_kubeconfig(kubeconfig_path(data_dir)) as client:
        await run(client)


async def _proxy(args: argparse.Namespace) -> None:
    from kubesvc.client import Client
    from kubesvc.proxy.daemon import IptablesProxier

    async with Client(args.server) as client:
        await IptablesProxier(client, args.node, args.node_ip, args.cluster_cidr).run()


async def _rules(data_dir: Path, node: str) -> str:
    """The rules the node's proxy writes, rendered from the live objects (pure render)."""
    from kubesvc.api.resources import lookup
    from kubesvc.client import Client
    from kubesvc.net import cluster
    from kubesvc.proxy.daemon import desired_state
    from kubesvc.proxy.iptables.render import render

    record = cluster.load(data_dir)
    target = record.topology().node(node)
    services, slices = lookup("", "services"), lookup("discovery.k8s.io", "endpointslices")
    assert services is not None and slices is not None
    async with Client.from_kubeconfig(data_dir / "kubeconfig") as client:
        svc = (await client.list(services))["items"]
        eps = (await client.list(slices))["items"]
    ports, endpoints = desired_state(svc, eps, node)
    return render(ports, endpoints, node_ip=target.ip, cluster_cidr=record.pod_cidr)


def _run_command(args: argparse.Namespace) -> int:
    if args.command == "apiserver":
        from kubesvc.apiserver.server import serve

        asyncio.run(_until_signalled(serve(_config(args))))
    elif args.command == "up":
        from kubesvc.cli.up import UpOptions, run_up

        opts = UpOptions(
            data_dir=args.data_dir.resolve(),
            nodes=args.nodes,
            proxy_mode=args.proxy_mode,
            pod_cidr=args.pod_cidr,
            service_cidr=args.service_cidr,
            node_cidr=args.node_cidr,
            port=args.port,
            node_monitor_grace_period=args.node_monitor_grace_period,
        )
        asyncio.run(_until_signalled(run_up(opts)))
    elif args.command == "node":
        from kubesvc.node.agent import run_agent

        asyncio.run(_until_signalled(run_agent(args.data_dir.resolve(), args.name)))
    elif args.command == "node-shell":
        from kubesvc.cli.up import node_shell

        cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
        return node_shell(args.data_dir.resolve(), args.node, cmd)
    elif args.command == "pod-exec":
        from kubesvc.node.podexec import PodExecError, exec_command

        cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
        try:
            argv, env = exec_command(
                args.data_dir.resolve(), args.namespace, args.pod, args.container, cmd
            )
        except PodExecError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        os.execvpe(argv[0], argv, env)
    elif args.command == "proxy":
        asyncio.run(_until_signalled(_proxy(args)))
    elif args.command == "rules":
        sys.stdout.write(asyncio.run(_rules(args.data_dir.resolve(), args.node)))
    elif args.command == "controller-manager":
        asyncio.run(_until_signalled(_controller_manager(args.data_dir)))
    return 0


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
        return _run_command(args)
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
    except (LookupError, ValueError) as exc:  # no such cluster or node, a bad CIDR
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except RuntimeError as exc:  # TopologyError and start-up failures say what to do
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
