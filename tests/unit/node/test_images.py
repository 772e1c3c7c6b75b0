"""Image references, the image table and how command/args combine with an image."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubesvc.node.images import (
    ImageError,
    ImageTable,
    ImageTableError,
    image_id,
    normalize,
    parse_table,
    resolve,
)

PY = "/opt/py/bin/python3"
DIGEST = "sha256:" + "ab" * 32


@pytest.fixture(scope="module")
def table() -> ImageTable:
    return ImageTable.load(None)


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("busybox", "docker.io/library/busybox:latest"),
        ("busybox:1.36", "docker.io/library/busybox:1.36"),
        ("library/busybox", "docker.io/library/busybox:latest"),
        ("docker.io/busybox", "docker.io/library/busybox:latest"),
        ("index.docker.io/library/busybox:1", "docker.io/library/busybox:1"),
        ("wangyanglinux/myapp:v2", "docker.io/wangyanglinux/myapp:v2"),
        ("k8s.gcr.io/serve_hostname", "k8s.gcr.io/serve_hostname:latest"),
        ("localhost/app", "localhost/app:latest"),
        ("localhost:5000/team/app:1.0", "localhost:5000/team/app:1.0"),
        (f"busybox@{DIGEST}", f"docker.io/library/busybox@{DIGEST}"),
        (f"busybox:1.36@{DIGEST}", f"docker.io/library/busybox:1.36@{DIGEST}"),
    ],
)
def test_normalize(image: str, expected: str) -> None:
    assert str(normalize(image)) == expected


@pytest.mark.parametrize(
    ("image", "suffix"),
    [
        ("Busybox", ": repository name must be lowercase"),
        ("busybox:", ""),
        ("busy box", ""),
        ("busybox@sha256:xyz", ""),
        ("/busybox", ""),
    ],
)
def test_invalid_references(image: str, suffix: str) -> None:
    with pytest.raises(ImageError) as caught:
        normalize(image)
    assert caught.value.reason == "InvalidImageName"
    assert caught.value.message == (
        f'Failed to apply default image tag "{image}": couldn\'t parse image name "{image}": '
        f"invalid reference format{suffix}"
    )


def test_builtin_images(table: ImageTable) -> None:
    def run(image: str) -> list[str]:
        return resolve(image, None, None, table=table, python=PY)

    assert run("wangyanglinux/myapp:v2") == [
        PY, "-m", "kubesvc.node.apps.myapp", "--version", "v2"
    ]  # fmt: skip
    assert run("docker.io/wangyanglinux/myapp:v3")[-1] == "v3"
    assert run("k8s.gcr.io/serve_hostname") == [PY, "-m", "kubesvc.node.apps.serve_hostname"]
    assert run("registry.k8s.io/serve_hostname:1.1")[-1] == "kubesvc.node.apps.serve_hostname"
    assert run("registry.k8s.io/e2e-test-images/agnhost:2.53") == [
        PY, "-m", "kubesvc.node.apps.agnhost", "pause"
    ]  # fmt: skip
    assert run("registry.k8s.io/pause:3.10") == [PY, "-m", "kubesvc.node.apps.pause"]
    assert run("busybox") == ["sh"]
    assert run(f"busybox@{DIGEST}") == ["sh"]
    assert run("alpine:3.20") == ["/bin/sh"]
    assert run("nginx") == [PY, "-m", "kubesvc.node.apps.nginx"]


def test_python_placeholder_defaults_to_running_interpreter(table: ImageTable) -> None:
    import sys

    assert resolve("nginx:1.27", None, None, table=table)[0] == sys.executable


AGNHOST = "registry.k8s.io/e2e-test-images/agnhost:2.53"


@pytest.mark.parametrize(
    ("command", "args", "expected"),
    [
        (None, None, [PY, "-m", "kubesvc.node.apps.agnhost", "pause"]),
        # args replace the CMD, the ENTRYPOINT stays
        (
            None,
            ["netexec", "--http-port=8080"],
            [PY, "-m", "kubesvc.node.apps.agnhost", "netexec", "--http-port=8080"],
        ),
        # command replaces the ENTRYPOINT and drops the CMD
        (["sleep", "3600"], None, ["sleep", "3600"]),
        (["sh", "-c"], ["echo hi"], ["sh", "-c", "echo hi"]),
        # an image path named in binaries runs the host program
        (
            ["/agnhost", "serve-hostname"],
            ["--port", "80"],
            [PY, "-m", "kubesvc.node.apps.agnhost", "serve-hostname", "--port", "80"],
        ),
        ([], [], [PY, "-m", "kubesvc.node.apps.agnhost", "pause"]),
    ],
)
def test_command_and_args_combine_like_a_runtime(
    table: ImageTable, command: list[str] | None, args: list[str] | None, expected: list[str]
) -> None:
    assert resolve(AGNHOST, command, args, table=table, python=PY) == expected


def test_no_entrypoint_args_become_argv(table: ImageTable) -> None:
    assert resolve("busybox", None, ["sleep", "10"], table=table) == ["sleep", "10"]


def test_unknown_image_with_command_runs(table: ImageTable) -> None:
    assert resolve("example.com/tool:1", ["/usr/bin/env"], None, table=table) == ["/usr/bin/env"]


def test_unknown_image_without_command_says_how_to_add_it(tmp_path: Path) -> None:
    user = tmp_path / "images.yaml"
    table = ImageTable.load(user)
    with pytest.raises(ImageError) as caught:
        resolve("redis:7", None, ["--port", "6380"], table=table)
    assert caught.value.reason == "ErrImagePull"
    assert caught.value.message == (
        'image "redis:7" (docker.io/library/redis:7) is not in the kubesvc image table; '
        "kubesvc runs no images, so give the container a command, or add the image to "
        f'{user} under images:, for example: - {{image: "redis:7", '
        'entrypoint: ["/path/to/program"], cmd: []}'
    )


def test_never_pull_policy_reason(table: ImageTable) -> None:
    with pytest.raises(ImageError) as caught:
        resolve("redis", None, None, table=table, pull_policy="Never")
    assert caught.value.reason == "ErrImageNeverPull"
    assert caught.value.message.startswith(
        'Container image "redis" is not present with pull policy of Never; '
    )


def test_entry_without_any_command(tmp_path: Path) -> None:
    user = tmp_path / "images.yaml"
    user.write_text("images:\n  - image: scratch-app:1\n")
    with pytest.raises(ImageError) as caught:
        resolve("scratch-app:1", None, None, table=ImageTable.load(user))
    assert (caught.value.reason, caught.value.message) == (
        "CreateContainerError",
        'image "scratch-app:1" specifies no command',
    )


def test_user_table_overrides_builtin_and_adds_images(tmp_path: Path) -> None:
    user = tmp_path / "images.yaml"
    user.write_text(
        """
images:
  - image: docker.io/library/redis:*
    entrypoint: ["/usr/bin/redis-server"]
    cmd: ["--port", "6379"]
    env: {REDIS_MODE: test}
  - image: wangyanglinux/myapp:*
    entrypoint: ["{python}", "-m", "my.app"]
  - image: busybox:1.36
    cmd: ["/bin/ash"]
"""
    )
    table = ImageTable.load(user)
    assert resolve("redis:7.2", None, None, table=table) == [
        "/usr/bin/redis-server",
        "--port",
        "6379",
    ]
    assert resolve("redis", None, ["--port", "1"], table=table)[1:] == ["--port", "1"]
    assert resolve("wangyanglinux/myapp:v1", None, None, table=table, python=PY) == [
        PY, "-m", "my.app"
    ]  # fmt: skip
    assert resolve("busybox:1.36", None, None, table=table) == ["/bin/ash"]
    assert resolve("busybox:1.35", None, None, table=table) == ["sh"]
    entry = table.lookup("redis:7")
    assert entry is not None and entry.env == (("REDIS_MODE", "test"),)
    assert entry.source == str(user)


def test_exact_beats_wildcard_within_a_file() -> None:
    entries = parse_table(
        "images:\n  - image: app:*\n    cmd: [any]\n  - image: app:2\n    cmd: [two]\n"
    )
    table = ImageTable(tuple(entries))
    assert resolve("app:2", None, None, table=table) == ["two"]
    assert resolve("app:3", None, None, table=table) == ["any"]
    assert resolve(f"app@{DIGEST}", None, None, table=table) == ["any"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("images: {a: b}", "<string>: expected a mapping with an images: list"),
        ("- image: x", "<string>: expected a mapping with an images: list"),
        ("images:\n  - cmd: [x]", "<string>: images[0]: an entry needs an image: reference"),
        ("images:\n  - image: x\n    cmd: x", "<string>: images[0].cmd: must be a list of strings"),
        (
            "images:\n  - image: x\n    command: [x]",
            "<string>: images[0]: unknown field(s) command",
        ),
        (
            "images:\n  - image: X",
            '<string>: images[0]: Failed to apply default image tag "X": couldn\'t parse image '
            'name "X": invalid reference format: repository name must be lowercase',
        ),
        ("images: [", None),
    ],
)
def test_table_format_errors(text: str, message: str | None) -> None:
    with pytest.raises(ImageTableError) as caught:
        parse_table(text)
    if message is None:
        assert str(caught.value).startswith("<string>: not valid YAML: ")
    else:
        assert str(caught.value) == message


def test_empty_user_file_and_missing_user_file(tmp_path: Path, table: ImageTable) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing yet\n")
    assert ImageTable.load(empty).user == ()
    assert ImageTable.load(tmp_path / "absent.yaml").user == ()
    assert len(table.builtin) >= 12


def test_builtin_table_is_package_data() -> None:
    from importlib import resources

    text = resources.files("kubesvc.node").joinpath("images.yaml").read_text()
    assert text.startswith("# kubesvc image table")


def test_image_id_is_stable_and_keeps_digests() -> None:
    assert image_id("busybox") == image_id("docker.io/library/busybox:latest")
    assert image_id("busybox").startswith("docker.io/library/busybox@sha256:")
    assert image_id(f"busybox:1@{DIGEST}") == f"docker.io/library/busybox@{DIGEST}"
