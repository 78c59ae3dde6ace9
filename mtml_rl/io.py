"""Files in and out: atomic writes (a temporary file in the same folder, renamed over the
target) and guarded reads of YAML input (size, encoding, nesting depth, duplicate keys)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pickletools
import re
import shutil
import stat
import tempfile
import types
import typing
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

MAX_YAML_DEPTH = 32
"""The deepest nesting of lists and mappings a YAML input may have."""
MAX_YAML_VALUES = 100_000
"""The most values a YAML input may expand to through its aliases (``*name``): a 1 KB grid
file of nine-fold nested aliases stands for billions of values, and ``mtml-rl benchmark``
copied them until it was killed. The largest file this project ships has a few thousand."""


def current_umask() -> int:
    """The process's umask, read without changing it where the system says it (Linux's
    ``/proc/self/status``); elsewhere set and put back at once, as pip does."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def give_creation_mode(built: str | Path, target: Path, *, folder: bool = False) -> None:
    """Give ``built``, the temporary file or folder an atomic write is about to rename to
    ``target``, the permissions of what ``target`` is now, or those ``open`` or ``mkdir`` give a
    new one (``0o666``, ``0o777`` for a folder, less the umask). :mod:`tempfile` makes it
    readable by its owner alone: renamed into place as it is, every run, record and report
    would be hidden from the owner's group whatever their umask allows. A folder's set-group-ID
    bit, inherited from a shared parent as ``mkdir`` would, is kept. What is there now counts
    only if it is a folder where a folder is written, a file where a file is."""
    try:
        current = target.stat().st_mode
    except OSError:
        current = None
    if current is not None and stat.S_ISDIR(current) == folder:
        permissions = current & 0o777
    else:
        permissions = (0o777 if folder else 0o666) & ~current_umask()
    special = os.stat(built).st_mode & 0o7000
    os.chmod(built, special | permissions)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        give_creation_mode(tmp, path)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    """Atomically write a text file (UTF-8)."""
    atomic_write_bytes(path, text.encode())


def atomic_write_json(path: str | Path, data: Any) -> None:
    """Atomically write pretty JSON."""
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def atomic_write_yaml(path: str | Path, data: Any) -> None:
    """Atomically write YAML (:func:`dump_yaml`)."""
    atomic_write_text(path, dump_yaml(data))


def set_aside_damaged(path: Path) -> Path:
    """Rename the damaged file ``path`` to ``<stem>.damaged<suffix>`` beside it
    (``<stem>.damaged-2<suffix>`` ... where taken), so that what replaces it loses nothing of
    it; returns where it is kept."""
    kept = path.with_name(f"{path.stem}.damaged{path.suffix}")
    number = 1
    while kept.exists():
        number += 1
        kept = path.with_name(f"{path.stem}.damaged-{number}{path.suffix}")
    os.replace(path, kept)
    return kept


def atomic_save(path: str | Path, save: Callable[[Path], None]) -> None:
    """Atomically create ``path`` with a saver that writes to the path it is given."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        save(Path(tmp))
        give_creation_mode(tmp, path)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def replaced_name(path: Path) -> Path:
    """Where :func:`atomic_dir` moves the folder it replaces while it puts the new one in place."""
    return path.with_name(f".{path.name}.old")


def restore_replaced(path: str | Path) -> bool:
    """Put back the folder an interrupted replacement had moved aside: where ``path`` is missing
    and :func:`replaced_name` holds a folder (a process stopped between :func:`atomic_dir`'s two
    renames), that folder, the last whole version, goes back to ``path``; whether it did."""
    path = Path(path)
    old = replaced_name(path)
    if path.exists() or path.is_symlink() or not old.is_dir():
        return False
    os.replace(old, path)
    return True


def restore_replaced_in(folder: Path) -> list[Path]:
    """:func:`restore_replaced` for every folder of ``folder`` that an interrupted replacement
    moved aside; the ones put back."""
    if not folder.is_dir():
        return []
    aside = [e for e in folder.iterdir() if e.name.startswith(".") and e.name.endswith(".old")]
    originals = [e.with_name(e.name[1 : -len(".old")]) for e in aside]
    return [original for original in originals if restore_replaced(original)]


@contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Build a folder under a temporary name; it appears at ``path`` whole, or not at all.

    An existing folder at ``path`` is replaced only once the new one is complete: it is moved
    aside (:func:`replaced_name`), the new one renamed into place, then the old one deleted. A
    failure between the two renames puts the old one back; a process killed there leaves it
    aside, and :func:`restore_replaced` (called here first, and by a run's resume) puts it back.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    restore_replaced(path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        yield tmp
        give_creation_mode(tmp, path, folder=True)
        old = None
        if path.exists():
            old = replaced_name(path)
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        restore_replaced(path)
        raise


# --------------------------------------------------------------------------------------------
# guarded reads
# --------------------------------------------------------------------------------------------
class InputFileError(ValueError):
    """An input file cannot be read as what it should be; the message says why and how to fix it.

    Callers turn it into the package error of their input (a spec, a grid, a config).
    """


def read_text_file(path: str | Path, *, max_bytes: int) -> str:
    """The UTF-8 text of ``path`` (a UTF-8 byte-order mark dropped), read as bytes and refused if
    it is over ``max_bytes``, starts with UTF-16's byte-order mark (Windows' "Unicode"), holds
    NUL bytes (a binary file) or is not UTF-8."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise InputFileError(f"cannot be read ({exc.strerror or exc})") from None
    if len(data) > max_bytes:
        raise InputFileError(f"is larger than {max_bytes:,} bytes; is it the right file?")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # the byte-order mark of UTF-16 (and UTF-32)
        raise InputFileError("is UTF-16 (or UTF-32) text; save it as UTF-8")
    if b"\x00" in data:
        raise InputFileError("is a binary file (it holds NUL bytes), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputFileError(
            f"is not UTF-8 text (byte {exc.start} is {data[exc.start : exc.start + 1]!r}); save it as UTF-8"
        ) from None


EXPONENT_FLOAT = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)
"""The floats of YAML 1.2, ``1e-3`` and ``3e4`` included: PyYAML follows YAML 1.1, where a
float needs a dot (``1.0e-3``), and reads ``learning_rate: 1e-3`` as the text ``"1e-3"``."""
FLOAT_FIRST_CHARS = list("-+0123456789.")


class StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses a key repeated in one mapping, nesting deeper than
    :attr:`max_depth` (PyYAML would otherwise keep the last value, or overflow the stack),
    and aliases that expand to more than :attr:`max_values` values or that contain themselves."""

    max_depth = MAX_YAML_DEPTH
    max_values = MAX_YAML_VALUES

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def get_single_node(self) -> Any:
        """Compose the document, refusing it if its aliases expand it too far."""
        node = super().get_single_node()
        if node is not None:
            problem = _alias_problem(node, self.max_values)
            if problem is not None:
                raise yaml.composer.ComposerError(None, None, problem, node.start_mark)
        return node

    def compose_node(self, parent: Any, index: Any) -> Any:
        """Compose one node, counting how deep it is."""
        self._depth += 1
        try:
            if self._depth > self.max_depth:
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    f"nesting deeper than {self.max_depth} levels",
                    self.peek_event().start_mark,
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        """Construct a mapping, refusing a key given twice (merge keys ``<<`` excepted)."""
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, Any] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.setdefault(key, key_node)
                except TypeError:
                    continue  # an unhashable key: the base class reports it
                if first is not key_node:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        f"found the key {key!r} twice (first on line {first.start_mark.line + 1}); keep one",
                        key_node.start_mark,
                    )
        return super().construct_mapping(node, deep=deep)


StrictLoader.add_implicit_resolver("tag:yaml.org,2002:float", EXPONENT_FLOAT, FLOAT_FIRST_CHARS)


class _Dumper(yaml.SafeDumper):
    """PyYAML's safe dumper, quoting a text that :class:`StrictLoader` would read as a number
    (``"1e3"``), so that what it writes reads back as it was."""


_Dumper.add_implicit_resolver("tag:yaml.org,2002:float", EXPONENT_FLOAT, FLOAT_FIRST_CHARS)


def dump_yaml(data: Any) -> str:
    """``data`` as YAML text, keys in their order, that :func:`load_yaml_text` reads back equal."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False)


def _alias_problem(root: yaml.Node, cap: int) -> str | None:
    """What is wrong with the node graph under ``root`` once aliases are expanded: more than
    ``cap`` values, or a node that contains itself (``None``: neither). Each node is sized
    once (its aliases share it), without recursing."""
    sizes: dict[int, int] = {}
    in_progress: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_sized = stack.pop()
        key = id(node)
        children = _child_nodes(node)
        if children_sized:
            in_progress.discard(key)
            sizes[key] = min(cap + 1, 1 + sum(sizes[id(child)] for child in children))
            continue
        if key in sizes:
            continue
        if key in in_progress:
            return "an alias (*name) contains its own anchor, so the value has no end"
        in_progress.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)
    if sizes[id(root)] > cap:
        return f"its aliases (*name) expand it to more than {cap:,} values; write the values out"
    return None


def _child_nodes(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def load_yaml_text(text: str) -> Any:
    """Parse one YAML document with :class:`StrictLoader`; errors are :class:`InputFileError`."""
    loader = StrictLoader(text)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        raise InputFileError(f"is not valid YAML{_describe(exc)}") from None
    finally:
        loader.dispose()


def load_trusted_yaml(text: str) -> Any:
    """Parse YAML this package ships (its built-in specs) with libyaml's C loader where PyYAML
    has it (ten times faster than :class:`StrictLoader`, which checks what users write); the
    files are checked against :func:`load_yaml_text` by the tests."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)


def read_yaml_file(path: str | Path, *, max_bytes: int) -> Any:
    """:func:`read_text_file` then :func:`load_yaml_text`."""
    return load_yaml_text(read_text_file(path, max_bytes=max_bytes))


def _describe(exc: yaml.YAMLError) -> str:
    """``" at line L, column C: what is wrong"``, in one line."""
    if not isinstance(exc, yaml.MarkedYAMLError):
        return ": " + " ".join(str(exc).split())
    mark = exc.problem_mark or exc.context_mark
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"{where}: {exc.problem or exc.context}"


# --------------------------------------------------------------------------------------------
# checking files that were written earlier
# --------------------------------------------------------------------------------------------
ZIP_SUFFIXES = (".zip", ".pt", ".pth")
"""Files in zip format: SB3 models, and torch's ``save`` (zip since torch 1.6)."""


def file_problem(path: str | Path) -> str | None:
    """What is wrong with a file that was written whole, judged by its type (``None``: nothing).

    Zip files (``.zip``, ``.pt``, ``.pth``) must open and pass their CRC checks, JSON files
    must parse, pickles must be complete (their opcodes are walked, nothing is executed). A
    file that passes may still hold the wrong content: a manifest of hashes catches that.
    """
    path = Path(path)
    if not path.is_file():
        return f"{path.name} is missing"
    if path.suffix in ZIP_SUFFIXES:
        return _zip_problem(path)
    if path.suffix == ".json":
        try:
            json.loads(path.read_bytes())
        except (ValueError, RecursionError) as exc:
            return f"{path.name} is not valid JSON ({exc})"
    if path.suffix == ".pkl":
        return _pickle_problem(path)
    return None


def _zip_problem(path: Path) -> str | None:
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        return f"{path.name} is not a whole zip file ({exc})"
    return f"{path.name} has a damaged member {bad}" if bad is not None else None


def _pickle_problem(path: Path) -> str | None:
    try:
        with open(path, "rb") as handle:
            for _ in pickletools.genops(handle):
                pass
    except (ValueError, EOFError, OSError) as exc:
        return f"{path.name} is not a whole pickle ({exc})"
    return None


# --------------------------------------------------------------------------------------------
# manifests: the size and SHA-256 of every file of a folder, written last
# --------------------------------------------------------------------------------------------
MANIFEST_FILE = "manifest.json"
"""The manifest's name inside the folder it describes."""
MANIFEST_VERSION = 1


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes (hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _manifested_files(folder: Path) -> list[Path]:
    """The files a manifest of ``folder`` lists: every file below it but the manifest and
    hidden (temporary) ones."""
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and p.name != MANIFEST_FILE
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def write_manifest(folder: str | Path) -> None:
    """Record the size and SHA-256 of every file in ``folder`` in its ``manifest.json``,
    written atomically (call it last: the manifest vouches for what is there now)."""
    folder = Path(folder)
    files = {
        p.relative_to(folder).as_posix(): {"size": p.stat().st_size, "sha256": file_sha256(p)}
        for p in _manifested_files(folder)
    }
    atomic_write_json(folder / MANIFEST_FILE, {"version": MANIFEST_VERSION, "files": files})


def read_manifest(folder: str | Path) -> dict[str, dict[str, Any]]:
    """The files ``folder``'s manifest lists, by relative path; :class:`InputFileError` if it
    is missing or is not a manifest."""
    path = Path(folder) / MANIFEST_FILE
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise InputFileError(f"{MANIFEST_FILE} is missing (the folder was not written whole)") from None
    except (OSError, ValueError, RecursionError) as exc:
        raise InputFileError(f"{MANIFEST_FILE} is not valid JSON ({exc})") from None
    files = data.get("files") if isinstance(data, dict) else None
    if (
        not isinstance(data, dict)
        or set(data) != {"version", "files"}
        or data["version"] != MANIFEST_VERSION
        or not isinstance(files, dict)
        or not all(_is_entry(v) for v in files.values())
    ):
        raise InputFileError(f"{MANIFEST_FILE} is not a manifest of version {MANIFEST_VERSION}")
    return files


def lists_file(folder: str | Path, name: str) -> bool:
    """Whether ``folder``'s manifest lists ``name`` (a relative path); ``False`` for a folder
    whose manifest is missing or damaged. A file a manifest does not list is not vouched for:
    one being removed (:func:`unlist_file`) may still be on disk."""
    try:
        return name in read_manifest(folder)
    except InputFileError:
        return False


def unlist_file(folder: str | Path, name: str) -> None:
    """Take ``name`` out of ``folder``'s manifest (rewritten atomically, nothing hashed again);
    delete the file after this, so that a crash in between leaves a folder that still verifies
    and a file no reader trusts (:func:`lists_file`).

    :raises InputFileError: the manifest is missing or damaged (the folder is left as it is)
    """
    files = read_manifest(folder)
    if name in files:
        rest = {k: v for k, v in files.items() if k != name}
        atomic_write_json(Path(folder) / MANIFEST_FILE, {"version": MANIFEST_VERSION, "files": rest})


def _is_entry(entry: Any) -> bool:
    return (
        isinstance(entry, dict)
        and set(entry) == {"size", "sha256"}
        and isinstance(entry["size"], int)
        and isinstance(entry["sha256"], str)
    )


def manifest_problem(folder: str | Path, required: tuple[str, ...] = ()) -> str | None:
    """What is wrong with ``folder`` by its manifest (``None``: every file it lists is there
    with its recorded size and SHA-256, and so is every file of ``required``).

    :param folder: a folder written with :func:`write_manifest` last
    :param required: files (relative paths) that must be listed
    """
    folder = Path(folder)
    try:
        files = read_manifest(folder)
    except InputFileError as exc:
        return str(exc)
    for name in required:
        if name not in files:
            return f"{name} is not in its {MANIFEST_FILE} (the folder was not finished)"
    for name, entry in sorted(files.items()):
        path = folder / name
        if not path.is_file():
            return f"{name} is missing"
        size = path.stat().st_size
        if size != entry["size"]:
            return f"{name} has {size:,} bytes, its {MANIFEST_FILE} says {entry['size']:,} (damaged)"
        if file_sha256(path) != entry["sha256"]:
            return f"{name} does not match its SHA-256 in {MANIFEST_FILE} (damaged or replaced)"
    return None


def record_problem(cls: type, data: Any) -> str:
    """What keeps ``data`` (a record read back from JSON) from being ``cls(**data)`` with every
    field of its annotated type (``""``: nothing): not an object, a required field missing, an
    unknown field, or a value of another type. ``cls`` is a dataclass whose annotations use
    ``str``, ``int`` (never a ``bool``), ``float`` (an ``int`` too), ``bool``, ``None``,
    unions, ``list[T]``, ``dict[str, T]`` and ``Any``: what JSON gives back.

    For the records mtml-rl and its scripts write and read back (a grid's manifest, a
    script's saved measurements): valid JSON of another shape must be refused when read, not
    fail in a traceback where a value is used.
    """
    if not isinstance(data, dict):
        return f"{type(data).__name__}, not an object"
    fields = {f.name: f for f in dataclasses.fields(cls)}
    required = [
        name
        for name, f in fields.items()
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    missing = [name for name in required if name not in data]
    if missing:
        return f"no {', '.join(missing)}"
    unknown = sorted(map(str, set(data) - set(fields)))
    if unknown:
        return f"unknown fields {', '.join(unknown)}"
    hints = typing.get_type_hints(cls)
    wrong = [f"{name} {value!r:.60}" for name, value in data.items() if not _is_of(value, hints[name])]
    return f"a value of another type: {wrong[0]}" if wrong else ""


def _is_of(value: Any, hint: Any) -> bool:
    """Whether the JSON value ``value`` is of the annotated type ``hint`` (see :func:`record_problem`)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_is_of(value, arg) for arg in args)
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin is list:
        return isinstance(value, list) and all(_is_of(item, args[0]) for item in value)
    if origin is dict:
        return isinstance(value, dict) and all(
            isinstance(key, str) and _is_of(item, args[1]) for key, item in value.items()
        )
    return isinstance(hint, type) and isinstance(value, hint)
