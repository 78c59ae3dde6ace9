"""The method registry: names to :class:`~mtml_rl.training.method.Method` objects.

A method is found by name in this order:

1. the registry of this process: the built-ins (held as ``"module:object"`` references
   and imported on first use) and whatever :func:`register_method` added;
2. the entry points of group ``mtml_rl.methods`` of the installed packages (name =
   method name, value = ``"pkg.module:object"``), read on a miss and when listing, so a
   package that declares its methods there needs no code run first, in any process;
3. a ``"pkg.module:object"`` reference given instead of a name (a config's ``method``
   may be one): the module is imported and the object registered under its own name.

Objects registered in a process are not known to the processes it spawns; the benchmark
hands them to its workers (:func:`registered_methods`).
"""

from __future__ import annotations

import importlib
import re
from importlib import metadata
from typing import TYPE_CHECKING

from mtml_rl.errors import ConfigError, MtmlError, UnknownNameError

if TYPE_CHECKING:
    from mtml_rl.training.config import TrainConfig
    from mtml_rl.training.method import Method

ENTRY_POINT_GROUP = "mtml_rl.methods"
"""The entry-point group packages declare their methods in."""
BUILTIN_METHODS: dict[str, str] = {
    "dr": "mtml_rl.methods.dr:DR",
    "oracle": "mtml_rl.methods.oracle:ORACLE",
    "history": "mtml_rl.methods.history:HISTORY",
    "adapt": "mtml_rl.methods.adapt:ADAPT",
    "rl2": "mtml_rl.methods.rl2:RL2",
    "finetune": "mtml_rl.methods.finetune:FINETUNE",
    "pearl": "mtml_rl.methods.pearl:PEARL",
    "onehot": "mtml_rl.methods.multitask:ONEHOT",
    "multihead": "mtml_rl.methods.multitask:MULTIHEAD",
}
"""The built-in methods, by reference (imported on first use)."""
NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")

_entries: dict[str, Method | str] = dict(BUILTIN_METHODS)
_registered: dict[str, Method] = {}


def is_reference(text: str) -> bool:
    """Whether ``text`` is a ``"pkg.module:object"`` reference rather than a name."""
    return ":" in text


def _import_reference(ref: str) -> Method:
    module_name, _, attr = ref.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"method reference {ref!r} is not 'pkg.module:object'")
    try:
        target: object = importlib.import_module(module_name)
        for part in attr.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(
            f"cannot import method {ref!r} ({type(exc).__name__}: {exc}); check the module is on the "
            "path and defines that object"
        ) from None
    return _checked(target, ref)


def _checked(target: object, where: str) -> Method:
    from mtml_rl.training.method import Method  # torch and SB3: only once a method is looked up

    if isinstance(target, type) and issubclass(target, Method):
        raise ConfigError(f"{where} is the class {target.__name__}; register an instance of it")
    if not isinstance(target, Method):
        raise ConfigError(
            f"{where} is a {type(target).__name__}, not a Method; subclass mtml_rl.methods.Method"
        )
    if not NAME_PATTERN.match(target.name or ""):
        raise ConfigError(
            f"{where}: method name {target.name!r} must start with a letter and hold only letters, "
            "digits, '_' and '-' (run folders and trial names use it)"
        )
    return target


def register_method(target: Method | str, *, name: str | None = None, replace: bool = False) -> None:
    """Make a method available by name: in this process's training, loading, evaluation and
    benchmark (whose workers receive it too).

    :param target: a :class:`Method` instance, or a ``"pkg.module:object"`` reference to one
        (imported now, unless ``name`` is given: then on first use)
    :param name: the name of a lazily imported reference (default: the object's ``name``)
    :param replace: replace a method registered under the same name
    """
    if isinstance(target, str) and name is not None:
        _add(name, target, replace)
        return
    method = _import_reference(target) if isinstance(target, str) else _checked(target, "register_method")
    _add(method.name, method, replace)
    _registered[method.name] = method


def _add(name: str, target: Method | str, replace: bool) -> None:
    if not NAME_PATTERN.match(name):
        raise ConfigError(
            f"method name {name!r} must start with a letter and hold only letters, digits, '_' and '-'"
        )
    other_case = next((known for known in _entries if known != name and known.lower() == name.lower()), None)
    if other_case is not None:
        raise ConfigError(
            f"a method named {other_case!r} is registered already, and {name!r} differs from it only "
            "in case: run folders and trial names carry method names, and macOS's and Windows' file "
            "systems ignore case; give yours another name"
        )
    current = _entries.get(name)
    if current is not None and current is not target and current != target and not replace:
        raise ConfigError(
            f"a method named {name!r} is registered already; pass replace=True to replace it, "
            "or give yours another name"
        )
    _entries[name] = target


def _read_entry_points() -> None:
    """Add the installed packages' entry points to the names known (imported on first use)."""
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        _entries.setdefault(entry.name, entry.value)


def get_method(name: str) -> Method:
    """The method registered as ``name``, or the object a ``"pkg.module:object"`` reference names.

    :raises UnknownNameError: for an unknown name (with the closest known one)
    """
    if name not in _entries and is_reference(name):
        method = _import_reference(name)
        _entries.setdefault(method.name, method)
        return method
    if name not in _entries:
        _read_entry_points()
    if name not in _entries:
        raise UnknownNameError(
            "method",
            name,
            method_names(),
            hint="Register it with mtml_rl.register_method, declare it in the entry-point group "
            f"{ENTRY_POINT_GROUP!r}, or pass 'pkg.module:object'.",
        )
    entry = _entries[name]
    if isinstance(entry, str):
        entry = _import_reference(entry)
        if entry.name != name:
            raise ConfigError(f"method {name!r} refers to an object named {entry.name!r}; use one name")
        _entries[name] = entry
    return entry


def method_names() -> tuple[str, ...]:
    """Every registered method's name (built-ins first, then others in registration order)."""
    _read_entry_points()
    return tuple(_entries)


def registered_methods() -> tuple[Method, ...]:
    """The method objects :func:`register_method` added in this process (what spawned workers
    must register again to know them)."""
    return tuple(_registered.values())


def read_by(field: str, config: TrainConfig) -> str:
    """``read by adapt``: the registered methods that say they read the config field ``field``
    (:meth:`~mtml_rl.training.method.Method.fields_read`), in words for a message that points
    to them; a plug-in that cannot be imported here is left out."""
    reading = []
    for name in method_names():
        try:
            read = get_method(name).fields_read(config)
        except MtmlError:
            continue
        if read is not None and field in read:
            reading.append(name)
    return f"read by {', '.join(reading)}" if reading else "read by no registered method"
