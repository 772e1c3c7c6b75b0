"""Images without a container runtime: a table maps image references to what they run.

A container runs as a process on the host's file system, so an image is only its ENTRYPOINT,
CMD and ENV, read from a table: the built-in `images.yaml` shipped with this package (its header
documents the format) merged with an optional user file of the same format, whose entries win.

References are normalized as a container runtime normalizes them (`busybox` is
`docker.io/library/busybox:latest`, `index.docker.io` is `docker.io`, a digest pins no tag); an
entry matches one tag or digest, or every one with `name:*`. Within each file an exact entry
beats a `name:*` entry.

`resolve` combines the container's `command`/`args` with the entry as a runtime does: `command`
replaces the ENTRYPOINT and drops the CMD, `args` replace the CMD. A container that sets a
command needs no entry at all. An entry's `binaries` map paths inside the image (`/agnhost`) to
host commands, applied to argv[0]. `{python}` in an entry stands for the interpreter running
kubesvc. Failures raise `ImageError(reason, message)` with a kubelet-like reason; an unknown
image's message says where and how to add it.
"""

from __future__ import annotations

import hashlib
import re
import sys
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

PYTHON_PLACEHOLDER = "{python}"
DEFAULT_DOMAIN = "docker.io"
_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_DOMAIN = re.compile(
    r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
    r"(?::[0-9]+)?|\[[0-9a-fA-F:.]+\](?::[0-9]+)?"
)
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}")


class ImageError(Exception):
    """The image cannot be run: `reason` is what the container's waiting state shows."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class ImageTableError(ValueError):
    """An image table file is not in the documented format."""


@dataclass(frozen=True, slots=True)
class ImageRef:
    """A normalized image reference; `tag` is "*" only in table patterns."""

    name: str
    tag: str = ""
    digest: str = ""

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += ":" + self.tag
        if self.digest:
            text += "@" + self.digest
        return text


def _invalid(image: str, why: str) -> ImageError:
    return ImageError(
        "InvalidImageName",
        f'Failed to apply default image tag "{image}": couldn\'t parse image name "{image}": '
        f"invalid reference format{why}",
    )


def normalize(image: str, *, pattern: bool = False) -> ImageRef:
    """Parse and normalize a reference; `pattern` allows the `name:*` wildcard tag."""
    rest, _, digest = image.partition("@")
    if digest and not _DIGEST.fullmatch(digest):
        raise _invalid(image, "")
    tag = ""
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1 :]
        if not (_TAG.fullmatch(tag) or (pattern and tag == "*")):
            raise _invalid(image, "")
    first, sep, remainder = rest.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        domain, path = first, remainder
    else:
        domain, path = DEFAULT_DOMAIN, rest
    if domain == "index.docker.io":
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = "library/" + path
    if not _DOMAIN.fullmatch(domain):
        raise _invalid(image, "")
    for component in path.split("/"):
        if not _COMPONENT.fullmatch(component):
            lowered = _COMPONENT.fullmatch(component.lower())
            raise _invalid(image, ": repository name must be lowercase" if lowered else "")
    if not tag and not digest:
        tag = "latest"
    return ImageRef(f"{domain}/{path}", tag, digest)


def image_id(image: str) -> str:
    """A stable `name@sha256:…` for status.imageID: the reference's digest, or one derived
    from the normalized reference (kubesvc pulls nothing, so there is no registry digest)."""
    ref = normalize(image)
    if ref.digest:
        return f"{ref.name}@{ref.digest}"
    return f"{ref.name}@sha256:{hashlib.sha256(str(ref).encode()).hexdigest()}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageEntry:
    """One table entry: what an image runs."""

    image: str
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    binaries: tuple[tuple[str, tuple[str, ...]], ...] = ()
    description: str = ""
    source: str = ""


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise ImageTableError(f"{where}: must be a list of strings")
    return tuple(str(v) for v in value)


def _entry(raw: Any, where: str, source: str) -> ImageEntry:
    if not isinstance(raw, dict) or not isinstance(raw.get("image"), str):
        raise ImageTableError(f"{where}: an entry needs an image: reference")
    unknown = set(raw) - {"image", "entrypoint", "cmd", "env", "binaries", "description"}
    if unknown:
        raise ImageTableError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    try:
        normalize(raw["image"], pattern=True)
    except ImageError as err:
        raise ImageTableError(f"{where}: {err.message}") from None
    env = raw.get("env") or {}
    binaries = raw.get("binaries") or {}
    if not isinstance(env, dict) or not isinstance(binaries, dict):
        raise ImageTableError(f"{where}: env and binaries must be mappings")
    return ImageEntry(
        image=raw["image"],
        entrypoint=_strings(raw.get("entrypoint"), f"{where}.entrypoint"),
        cmd=_strings(raw.get("cmd"), f"{where}.cmd"),
        env=tuple((str(k), str(v)) for k, v in env.items()),
        binaries=tuple(
            (str(k), _strings(v, f"{where}.binaries[{k}]")) for k, v in binaries.items()
        ),
        description=str(raw.get("description") or ""),
        source=source,
    )


def parse_table(text: str, source: str = "<string>") -> list[ImageEntry]:
    """The entries of one table file (YAML with an `images:` list)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ImageTableError(f"{source}: not valid YAML: {err}") from None
    if data is None:
        return []
    if not isinstance(data, dict) or not isinstance(data.get("images") or [], list):
        raise ImageTableError(f"{source}: expected a mapping with an images: list")
    return [
        _entry(raw, f"{source}: images[{i}]", source)
        for i, raw in enumerate(data.get("images") or [])
    ]


@dataclass(frozen=True, slots=True)
class _Layer:
    exact: dict[str, ImageEntry] = field(default_factory=dict)
    wildcard: dict[str, ImageEntry] = field(default_factory=dict)

    @classmethod
    def of(cls, entries: tuple[ImageEntry, ...]) -> _Layer:
        layer = cls()
        for entry in entries:
            ref = normalize(entry.image, pattern=True)
            if ref.tag == "*":
                layer.wildcard[ref.name] = entry
            else:
                layer.exact[str(ref)] = entry
        return layer

    def find(self, ref: ImageRef) -> ImageEntry | None:
        keys = [str(ref)]
        if ref.tag:
            keys.append(f"{ref.name}:{ref.tag}")
        if ref.digest:
            keys.append(f"{ref.name}@{ref.digest}")
        for key in keys:
            if key in self.exact:
                return self.exact[key]
        return self.wildcard.get(ref.name)


@dataclass(frozen=True, slots=True)
class ImageTable:
    """The built-in table merged with the user's; user entries win."""

    builtin: tuple[ImageEntry, ...]
    user: tuple[ImageEntry, ...] = ()
    user_file: Path | None = None
    _layers: tuple[_Layer, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_layers", (_Layer.of(self.user), _Layer.of(self.builtin)))

    @classmethod
    def load(cls, user_file: Path | None = None) -> ImageTable:
        """The built-in images.yaml plus `user_file` when given (a missing file is empty)."""
        text = resources.files("kubesvc.node").joinpath("images.yaml").read_text("utf-8")
        builtin = parse_table(text, "kubesvc/node/images.yaml")
        user: list[ImageEntry] = []
        if user_file is not None and user_file.exists():
            user = parse_table(user_file.read_text("utf-8"), str(user_file))
        return cls(tuple(builtin), tuple(user), user_file)

    def lookup(self, image: str) -> ImageEntry | None:
        ref = normalize(image)
        for layer in self._layers:
            found = layer.find(ref)
            if found is not None:
                return found
        return None


def _missing_message(image: str, ref: ImageRef, table: ImageTable, pull_policy: str) -> str:
    where = str(table.user_file) if table.user_file else "a user image table file"
    example = f'- {{image: "{image}", entrypoint: ["/path/to/program"], cmd: []}}'
    first = (
        f'Container image "{image}" is not present with pull policy of Never'
        if pull_policy == "Never"
        else f'image "{image}" ({ref}) is not in the kubesvc image table'
    )
    return (
        f"{first}; kubesvc runs no images, so give the container a command, or add the image "
        f"to {where} under images:, for example: {example}"
    )


def resolve(
    image: str,
    command: list[str] | None,
    args: list[str] | None,
    *,
    table: ImageTable,
    pull_policy: str = "IfNotPresent",
    python: str | None = None,
) -> list[str]:
    """The argv a container runs, as a runtime combines command/args with the image."""
    ref = normalize(image)
    entry = table.lookup(image)
    python = python or sys.executable

    def fill(items: tuple[str, ...]) -> list[str]:
        return [item.replace(PYTHON_PLACEHOLDER, python) for item in items]

    if command:
        argv = list(command) + list(args or [])
    elif entry is None:
        reason = "ErrImageNeverPull" if pull_policy == "Never" else "ErrImagePull"
        raise ImageError(reason, _missing_message(image, ref, table, pull_policy))
    else:
        argv = fill(entry.entrypoint) + (list(args) if args else fill(entry.cmd))
    if not argv:
        raise ImageError("CreateContainerError", f'image "{image}" specifies no command')
    if entry is not None:
        binaries = dict(entry.binaries)
        if argv[0] in binaries:
            argv = fill(binaries[argv[0]]) + argv[1:]
    return argv
