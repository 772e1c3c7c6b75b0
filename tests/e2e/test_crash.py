"""`kubesvc up` after a crash: the second run cleans what the first left, then works."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from kubesvc.cli.up import stale_components
from kubesvc.net import plan, topology
from tests.conftest import ROOT, free_port

CIDRS = [
    "--node-cidr",
    "172.27.0.0/16",
    "--pod-cidr",
    "10.227.0.0/16",
    "--service-cidr",
    "10.160.0.0/12",
]


def start(data_dir: Path, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kubesvc.cli.main",
                "up",
                "--data-dir",
                str(data_dir),
                "--nodes",
                "2",
                "--port",
                str(free_port()),
                *CIDRS,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    deadline = time.monotonic() + 60
    while "cluster ready" not in log.read_text(errors="replace"):
        assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)
    return proc


def test_second_up_cleans_after_a_crash(tmp_path: Path) -> None:
    data_dir = tmp_path.resolve()
    first = start(data_dir, tmp_path / "first.log")
    second: subprocess.Popen[bytes] | None = None
    try:
        agents = stale_components(data_dir)
        assert len(agents) == 2  # the node agents, still running
        first.kill()  # kill -9: nothing is cleaned up
        first.wait(10)
        assert stale_components(data_dir) == agents
        second = start(data_dir, tmp_path / "second.log")
        text = (tmp_path / "second.log").read_text()
        assert "cleaning what an earlier run left: 2 processes" in text
        assert not any(Path(f"/proc/{pid}").exists() for pid in agents)
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                proc.wait(60)
        for pid in stale_components(data_dir):  # only if the test failed half-way
            os.kill(pid, signal.SIGKILL)
        left = topology.leftovers(plan.cluster_id(data_dir))
        topology.down(plan.cluster_id(data_dir))
    assert left == []
