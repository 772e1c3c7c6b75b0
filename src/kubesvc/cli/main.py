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
from kubesvc.lib.loops import EVENT_LOOPS

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
        default=180.0,
        help="seconds between allocation-table repair passes (default: %(default)s, as upstream)",
    )
    parser.add_argument(
        "--store-history",
        type=int,
        default=20000,
        help="revisions of change history kept for watches; a watch from an older one gets "
        "410 Expired (default: %(default)s)",
    )


def _dns_args(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--kubeconfig", type=Path, metavar="PATH", help="the API server of this kubeconfig"
    )
    where.add_argument(
        "--server",
        metavar="URL",
        help="the API server URL (default: in-cluster, from "
        "$KUBERNETES_SERVICE_HOST and $KUBERNETES_SERVICE_PORT)",
    )
    parser.add_argument(
        "--listen",
        default="0.0.0.0:53",
        metavar="IP:PORT",
        help="UDP and TCP (default: %(default)s)",
    )
    parser.add_argument("--zone", default="cluster.local", help="(default: %(default)s)")
    parser.add_argument("--ttl", type=int, default=30, help="record TTL (default: %(default)s)")
    parser.add_argument(
        "--upstream",
        action="append",
        default=[],
        metavar="IP[:PORT]",
        help="resolver for names outside the zone; repeatable (default: /etc/resolv.conf's)",
    )
    parser.add_argument(
        "--pods",
        choices=["insecure", "verified", "disabled"],
        default="insecure",
        help="pod records A-B-C-D.NS.pod.ZONE (default: %(default)s)",
    )
    for name, port in (("health", 8080), ("ready", 8181), ("metrics", 9153)):
        parser.add_argument(
            f"--{name}-port",
            type=int,
            default=port,
            metavar="PORT",
            help="0: off (default: %(default)s)",
        )
    parser.add_argument(
        "--event-loop",
        choices=EVENT_LOOPS,
        default="asyncio",
        help="the DNS server's event loop (default: %(default)s)",
    )
    # kubeadm's CoreDNS manifest passes `-conf /etc/coredns/Corefile`: accepted, not read.
    parser.add_argument("-conf", dest="corefile", help=argparse.SUPPRESS)


def _proxy_timing_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--iptables-sync-period",
        type=float,
        default=30.0,
        help="seconds between canary checks and before retrying a failed sync "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--iptables-min-sync-period",
        type=float,
        default=0.2,
        help="least seconds between two syncs (default: %(default)s)",
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
    up.add_argument(
        "--iptables-sync-period",
        type=float,
        default=30.0,
        help="the proxies' canary check and sync retry period in seconds (default: %(default)s)",
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
    px.add_argument(
        "--proxy-mode",
        choices=["iptables", "userspace"],
        default="iptables",
        help="how Services are implemented (default: %(default)s)",
    )
    px.add_argument(
        "--event-loop",
        choices=EVENT_LOOPS,
        default="uvloop",
        help="the userspace proxy's event loop: uvloop relays ~1.5x the new connections per "
        "second of asyncio; both passed a 10-minute churn soak (default: %(default)s)",
    )
    px.add_argument(
        "--udp-timeout",
        type=float,
        default=0.25,
        help="userspace mode: seconds an idle UDP session lives (default: %(default)s)",
    )
    _proxy_timing_args(px)
    px.add_argument(
        "--healthz-bind-address",
        default=None,
        help="HOST:PORT for /healthz; '' turns it off (default: NODE_IP:10256)",
    )
    px.add_argument(
        "--metrics-bind-address",
        default=None,
        help="HOST:PORT for /metrics; '' turns it off (default: NODE_IP:10249)",
    )
    rules = sub.add_parser("rules", help="print the iptables rules kube-proxy keeps on a node")
    _data_dir_arg(rules)
    rules.add_argument("node", nargs="?", default="node-1", help="(default: %(default)s)")
    rules.add_argument(
        "--mode",
        choices=["iptables", "userspace"],
        default="iptables",
        help="the proxy mode whose rules to show (default: %(default)s)",
    )
    tr = sub.add_parser("trace", help="explain, rule by rule, what happens to a new connection")
    _data_dir_arg(tr)
    tr.add_argument("destination", metavar="DEST:PORT", help="IP:PORT or SERVICE[.NAMESPACE]:PORT")
    tr.add_argument(
        "--from",
        dest="source",
        default="host",
        metavar="POD|NODE|host",
        help="where the connection starts: a pod (NAME or NAMESPACE/NAME), a node, or the host "
        "(default: %(default)s)",
    )
    tr.add_argument("-n", "--namespace", default="default", help="for POD and SERVICE names")
    tr.add_argument("--proto", choices=["tcp", "udp"], default="tcp", help="(default: %(default)s)")
    tr.add_argument("-o", "--output", choices=["text", "json"], default="text")
    _dns_args(sub.add_parser("dns", help="the cluster DNS server (CoreDNS's kubernetes plugin)"))
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
    from kubesvc.proxy.daemon import endpoints_of
    from kubesvc.proxy.iptables.proxier import IptablesProxier
    from kubesvc.proxy.userspace.proxier import UserspaceProxier

    healthz, metrics = endpoints_of(
        args.node_ip, args.healthz_bind_address, args.metrics_bind_address
    )
    async with Client(args.server) as client:
        if args.proxy_mode == "userspace":
            await UserspaceProxier(
                client,
                args.node,
                args.node_ip,
                udp_timeout=args.udp_timeout,
                min_sync_period=args.iptables_min_sync_period,
                sync_period=args.iptables_sync_period,
                healthz_address=healthz,
                metrics_address=metrics,
            ).run()
            return
        await IptablesProxier(
            client,
            args.node,
            args.node_ip,
            args.cluster_cidr,
            args.iptables_min_sync_period,
            sync_period=args.iptables_sync_period,
            healthz_address=healthz,
            metrics_address=metrics,
        ).run()


async def _dns(args: argparse.Namespace) -> None:
    import logging

    from kubesvc.client import Client
    from kubesvc.dns.forwarder import parse_address
    from kubesvc.dns.run import DnsOptions, client_from_environment, run

    if args.corefile:
        log = logging.getLogger("kubesvc.dns")
        log.info("not reading %s: flags configure kubesvc dns", args.corefile)
    host, port = parse_address(args.listen, default_port=53)
    if not 0 <= args.ttl <= 3600 or not args.zone.strip("."):
        raise ValueError("--ttl must be between 0 and 3600, and --zone must not be empty")
    options = DnsOptions(
        host=host,
        port=port,
        zone=args.zone.strip(".").lower(),
        ttl=args.ttl,
        pods=args.pods,
        upstreams=tuple(parse_address(u) for u in args.upstream),
        health_port=args.health_port,
        ready_port=args.ready_port,
        metrics_port=args.metrics_port,
    )
    if args.kubeconfig:
        client = Client.from_kubeconfig(args.kubeconfig)
    elif args.server:
        client = Client(args.server)
    else:
        client = client_from_environment()
    async with client:
        await run(client, options)


async def _rules(data_dir: Path, node: str, mode: str = "iptables") -> str:
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
    if mode == "userspace":
        from kubesvc.proxy.userspace import apply as userspace_apply
        from kubesvc.proxy.userspace.proxier import rules_for_node

        saved = await asyncio.to_thread(userspace_apply.saved_nat, target.netns)
        return rules_for_node(svc, eps, node, target.ip, saved)
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
            iptables_sync_period=args.iptables_sync_period,
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
        from kubesvc.lib import loops

        loops.run(lambda: _until_signalled(_proxy(args)), args.event_loop)
    elif args.command == "trace":
        from kubesvc.proxy.trace import gather

        text = gather.run(
            args.data_dir.resolve(),
            args.destination,
            source=args.source,
            namespace=args.namespace,
            proto=args.proto,
            output=args.output,
        )
        sys.stdout.write(asyncio.run(text))
    elif args.command == "rules":
        sys.stdout.write(asyncio.run(_rules(args.data_dir.resolve(), args.node, args.mode)))
    elif args.command == "dns":
        from kubesvc.lib import loops

        loops.run(lambda: _until_signalled(_dns(args)), args.event_loop)
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
        if exc.errno == errno.EADDRINUSE and args.command == "dns":
            hint = "\n  the address is taken: pick others with --listen and the --*-port flags"
        elif exc.errno == errno.EADDRINUSE:
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
