"""Cluster start-up, pod start-up and memory, one command: `sudo python bench/cluster.py`.

Starts a real `kubesvc up` (3 nodes) on a temporary data dir and prints:
- the time from starting `kubesvc up` to three nodes Ready (aim <= 5 s; kind's published
  figure for a cluster is 30-60 s, and `kind create cluster` is the peer users compare with);
- the time for 100 pods (a Deployment of `registry.k8s.io/pause`) to be Running and Ready;
- the resident memory of the whole cluster (kubesvc processes and every container process)
  while it runs the seeds' apps (myapp x3, hostnames x3), aim <= 300 MB.
Needs root (network namespaces). Stops the cluster by pid and checks nothing is left.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from tests.conftest import KUBECTL, free_port  # noqa: E402

PAUSE = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: pause
spec:
  replicas: 100
  selector:
    matchLabels: {app: pause}
  template:
    metadata:
      labels: {app: pause}
    spec:
      containers:
      - name: pause
        image: registry.k8s.io/pause:3.10
"""


def kubectl(data_dir: Path, *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [
            KUBECTL,
            "--kubeconfig",
            str(data_dir / "kubeconfig"),
            "--cache-dir",
            str(data_dir / "kubectl-cache"),
            *args,
        ],
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def ready_pods(data_dir: Path, selector: str) -> int:
    items = json.loads(kubectl(data_dir, "get", "pods", "-l", selector, "-o", "json"))["items"]
    count = 0
    for pod in items:
        conditions = {c["type"]: c["status"] for c in pod["status"].get("conditions") or []}
        count += conditions.get("Ready") == "True"
    return count


def wait_for(check, timeout: float) -> float:  # type: ignore[no-untyped-def]
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if check():
            return time.monotonic() - start
        time.sleep(0.1)
    raise SystemExit(f"timed out after {timeout}s")


def tree_rss_kib(root_pid: int, cluster: str) -> int:
    """RSS of `root_pid`, its descendants, and every process inside the cluster's namespaces."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    pids, todo = set(), [root_pid]
    while todo:
        pid = todo.pop()
        if pid not in pids:
            pids.add(pid)
            todo.extend(children.get(pid, []))
    listed = subprocess.run(
        ["ip", "netns", "pids", f"ks-{cluster}-underlay"], capture_output=True, text=True
    ).stdout.split()
    pids.update(int(p) for p in listed)
    for ns in subprocess.run(
        ["ip", "netns", "list"], capture_output=True, text=True
    ).stdout.split():
        if ns.startswith(f"ks-{cluster}-"):
            out = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True)
            pids.update(int(p) for p in out.stdout.split())
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


def main() -> None:
    if os.geteuid() != 0:
        raise SystemExit("bench/cluster.py starts `kubesvc up`, which needs root")
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        log = open(data_dir / "up.log", "wb")  # noqa: SIM115
        start = time.monotonic()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kubesvc.cli.main",
                "up",
                "--data-dir",
                str(data_dir),
                "--port",
                str(free_port()),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        try:
            up_time = wait_for(lambda: "cluster ready" in (data_dir / "up.log").read_text(), 60)
            cluster = json.loads((data_dir / "cluster.json").read_text())["cluster"]
            kubectl(data_dir, "apply", "-f", "-", stdin=PAUSE)
            pods_time = wait_for(lambda: ready_pods(data_dir, "app=pause") == 100, 300)
            kubectl(data_dir, "delete", "deployment", "pause")
            wait_for(
                lambda: (
                    not json.loads(
                        kubectl(data_dir, "get", "pods", "-l", "app=pause", "-o", "json")
                    )["items"]
                ),
                120,
            )
            seeds = ROOT / "tests" / "fixtures" / "seeds"
            for name in (
                "myapp-deploy.yaml",
                "hostnames.yaml",
                "hostnames-svc.yaml",
                "myapp-service.yaml",
            ):
                kubectl(data_dir, "apply", "-f", str(seeds / name))
            wait_for(lambda: ready_pods(data_dir, "app in (myapp,hostnames)") == 6, 60)
            time.sleep(2)
            rss_mb = tree_rss_kib(proc.pid, cluster) / 1024
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(60)
            log.close()
        total = time.monotonic() - start
    print(f"{'measurement':<44}{'kubesvc':>12}{'aim / peer':>26}")
    print(f"{'kubesvc up -> 3 nodes Ready':<44}{up_time:>11.1f}s{'<= 5 s; kind 30-60 s':>26}")
    print(f"{'100 pods Running and Ready':<44}{pods_time:>11.1f}s{'(kind: image pulls)':>26}")
    print(f"{'resident memory, seeds apps running':<44}{rss_mb:>10.0f}MB{'<= 300 MB':>26}")
    print(f"\nwhole run {total:.0f}s")


if __name__ == "__main__":
    main()
