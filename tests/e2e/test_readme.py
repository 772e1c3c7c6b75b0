"""The README's five-minute tour, run as written against a fresh `kubesvc up`.

Every `$ command` of the tour's console block runs in bash, in order, with the environment the
tour's `export` line sets (pointed at this test's cluster). Its output is compared with what the
README shows after normalising what must differ from run to run: pod and Service addresses,
random name suffixes, ages, node ports, column widths, and the order of lines (round robin,
random choice and DNS answer order). Addresses and ports the README's later commands use (a pod
IP, the ClusterIP, a CoreDNS pod, the node port) are learned from this run's earlier outputs, in
the same row and column where the README shows them, and substituted. Read-only commands are
repeated for a while until they match, as a reader would re-run `kubectl get pod` until the
pods run.
"""

from __future__ import annotations

import ipaddress
import os
import re
import subprocess
import time
from dataclasses import dataclass

from tests.conftest import ROOT
from tests.e2e.harness import Cluster

FIXED = {"10.96.0.1", "10.96.0.10"}  # the kubernetes and kube-dns Services: always these
CHANGING_NETS = [ipaddress.ip_network("10.244.0.0/16"), ipaddress.ip_network("10.96.0.0/12")]
MUTATING = re.compile(r"kubectl (apply|create|run|delete)\b")


@dataclass
class Step:
    command: str
    shown: list[str]


def tour() -> list[Step]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## A five-minute tour", 1)[1]
    block = section.split("```console\n", 1)[1].split("```", 1)[0]
    steps: list[Step] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            steps.append(Step(line[2:], []))
        elif steps:
            steps[-1].shown.append(line)
    return steps


def changing(token: str) -> bool:
    try:
        ip = ipaddress.ip_address(token)
    except ValueError:
        return False
    return token not in FIXED and any(ip in net for net in CHANGING_NETS)


def normalise(line: str) -> str:
    line = re.sub(
        r"\d+\.\d+\.\d+\.\d+", lambda m: "<ip>" if changing(m.group()) else m.group(), line
    )
    line = re.sub(r"\b([a-z][a-z0-9-]*?)-[a-z0-9]{8,10}-[a-z0-9]{5}\b", r"\1-<hash>-<id>", line)
    line = re.sub(r"\b\d+[smhd]\b", "<age>", line)
    line = re.sub(r"\b3\d{4}\b", "<nodeport>", line)
    return re.sub(r"\s+", " ", line).strip()


def same(shown: list[str], got: list[str]) -> bool:
    return sorted(map(normalise, shown)) == sorted(map(normalise, got))


def learn(shown: list[str], got: list[str], bindings: dict[str, str]) -> None:
    """Bind each address or node port the README shows to this run's, by row and column."""
    if len(shown) != len(got):
        return
    for want_line, got_line in zip(shown, got, strict=True):
        want_fields, got_fields = want_line.split(), got_line.split()
        if len(want_fields) != len(got_fields):
            continue
        for want, have in zip(want_fields, got_fields, strict=True):
            for pattern in (r"\d+\.\d+\.\d+\.\d+", r"(?<=:)3\d{4}(?=/)"):
                w, h = re.search(pattern, want), re.search(pattern, have)
                if not (w and h) or w.group() in bindings or w.group() == h.group():
                    continue
                if pattern.startswith(r"(?<=") or changing(w.group()):
                    bindings[w.group()] = h.group()


def test_the_readme_tour_runs_as_written(cluster: Cluster) -> None:
    env = dict(
        os.environ,
        KUBECONFIG=str(cluster.data_dir / "kubeconfig"),
        KUBESVC_DATA_DIR=str(cluster.data_dir),
        PATH=f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}",
    )
    bindings: dict[str, str] = {}
    steps = tour()
    assert len(steps) >= 15, "the tour's console block was not found"
    for step in steps:
        if step.command.startswith("export "):
            continue  # this test sets the environment the export line sets
        command = step.command
        for readme_value, live_value in bindings.items():
            command = re.sub(rf"(?<![\d.]){re.escape(readme_value)}(?![\d])", live_value, command)
        deadline = time.monotonic() + (0 if MUTATING.search(command) else 40)
        while True:
            result = subprocess.run(
                ["bash", "-c", command],
                capture_output=True,
                text=True,
                env=env,
                cwd=ROOT,
                timeout=60,
            )
            got = (result.stdout + result.stderr).splitlines()
            # this test has no terminal; a reader's shell has one, so kubectl says nothing
            got = [line for line in got if not line.startswith("Unable to use a TTY")]
            if same(step.shown, got) or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert same(step.shown, got), (
            f"$ {command}\n--- the README shows:\n"
            + "\n".join(step.shown)
            + "\n--- this run printed:\n"
            + "\n".join(got)
        )
        learn(step.shown, got, bindings)
