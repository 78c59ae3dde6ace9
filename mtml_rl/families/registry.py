"""The family registry: built-in families, families registered in code, and installed plugins.

A spec's ``family:`` is either a **name** or a **reference** ``"pkg.module:Class"``.

A name is looked up, in this order, among

1. the families registered in this process with :func:`register_family`;
2. the built-in families (a registration with ``replace=True`` overrides one);
3. the entry points of the group ``mtml_rl.families`` that installed packages declare in
   their ``pyproject.toml`` (read lazily: on a lookup miss and when listing), e.g.::

       [project.entry-points."mtml_rl.families"]
       my_family = "my_package.families:MyFamily"

A reference is imported directly. Registrations made in code live in one process only;
entry points and references are found by every process (spawned benchmark workers, Ray
workers, a later ``Run.load``), which is why a spec keeps the reference of its family
(:func:`family_ref`). Every class handed out is checked by
:func:`~mtml_rl.families.checks.check_family_class`. Targets are imported on first use,
so registering costs no import.
"""

from __future__ import annotations

import importlib
import warnings
from importlib import metadata

from mtml_rl.errors import FamilyError, MtmlWarning, UnknownNameError
from mtml_rl.families.checks import FamilyClass, check_family_class, check_name, describe

ENTRY_POINT_GROUP = "mtml_rl.families"
"""The entry-point group installed packages declare their families in."""
GENERIC_FAMILY = "gymnasium"
"""The name of the generic family that wraps any Gymnasium id from a spec's ``gymnasium:`` block."""

_BUILTIN: dict[str, str] = {
    "cartpole": "mtml_rl.families.cartpole:CartPole",
    "pendulum": "mtml_rl.families.pendulum:Pendulum",
    "mountaincar_continuous": "mtml_rl.families.mountaincar:MountainCarContinuous",
    "acrobot": "mtml_rl.families.acrobot:Acrobot",
    "pointnav": "mtml_rl.families.pointnav:PointNav",
    # simulator-backed (mtml_rl.families.sim.SimFamily; MuJoCo and Box2D imported lazily)
    "halfcheetah_vel": "mtml_rl.families.locomotion:HalfCheetahVel",
    "halfcheetah_dir": "mtml_rl.families.locomotion:HalfCheetahDir",
    "ant_dir": "mtml_rl.families.locomotion:AntDir",
    "ant_goal": "mtml_rl.families.locomotion:AntGoal",
    "hopper_params": "mtml_rl.families.rand_params:HopperParams",
    "walker_params": "mtml_rl.families.rand_params:WalkerParams",
    "halfcheetah_params": "mtml_rl.families.rand_params:HalfCheetahParams",
    "lunarlander": "mtml_rl.families.lunarlander:LunarLander",
    "metaworld": "mtml_rl.families.metaworld:MetaWorld",
}
_REGISTERED: dict[str, FamilyClass | str] = {}
"""Families registered in this process, by name: a class or a ``"pkg.module:Class"`` reference."""
_CHECKED: dict[tuple[str, object], FamilyClass] = {}
"""Classes already checked, by (name or reference, target)."""


def is_family_ref(text: str) -> bool:
    """Whether ``text`` is a ``"pkg.module:Class"`` reference rather than a name.

    :param text: what a spec's ``family:`` says
    """
    return ":" in text


def register_family(name: str, target: FamilyClass | str, *, replace: bool = False) -> None:
    """Register a family under ``name``, in this process.

    Specs can then say ``family: <name>``. Spawned and Ray workers do not run this call:
    give them the family by an entry point (group ``mtml_rl.families``) or by a spec that
    says ``family: "pkg.module:Class"``; a spec whose family was registered with an
    importable class keeps that class's reference, so it works there too.

    :param name: the family's name (letters, digits, ``_``); a class's ``name`` must match it
    :param target: the family class, or ``"pkg.module:Class"`` (imported on first use)
    :param replace: replace a family already known under ``name`` (a built-in included)
    :raises FamilyError: for an invalid name, class or reference, or a name already taken
    """
    check_name(name)
    if name == GENERIC_FAMILY:
        raise FamilyError(f"{GENERIC_FAMILY!r} is the generic family's name; choose another name")
    if isinstance(target, str):
        _split_ref(target)
    else:
        check_family_class(target, name)
    if not replace and name in family_names():
        raise FamilyError(
            f"a family called {name!r} is already registered ({family_origin(name)}); "
            "choose another name or pass replace=True"
        )
    _REGISTERED[name] = target


def get_family(name_or_ref: str) -> FamilyClass:
    """The family class called ``name_or_ref``, or imported from ``"pkg.module:Class"``.

    :param name_or_ref: a family name or a ``"pkg.module:Class"`` reference
    :raises UnknownNameError: for an unknown name (with a did-you-mean)
    :raises FamilyError: for a reference that does not import or a class that is not a
        complete family
    """
    if is_family_ref(name_or_ref):
        return _checked(name_or_ref, name_or_ref, None)
    if name_or_ref == GENERIC_FAMILY:
        raise FamilyError(
            f"the {GENERIC_FAMILY!r} family has no parameters of its own: a spec's "
            f"'{GENERIC_FAMILY}:' block declares them; resolve the spec and use spec.family_cls"
        )
    target = _target(name_or_ref)
    if target is None:
        raise UnknownNameError(
            "family",
            name_or_ref,
            family_names(),
            hint="Register it with mtml_rl.register_family, declare an entry point in the group "
            f"{ENTRY_POINT_GROUP!r}, or write family: 'pkg.module:Class' in the spec.",
        )
    return _checked(name_or_ref, target, name_or_ref)


def family_names() -> tuple[str, ...]:
    """Every family :func:`get_family` finds by name: registered, built-in and installed ones
    (a spec can also say ``family: gymnasium``, the generic family, with its own block)."""
    return tuple(sorted({*_REGISTERED, *_BUILTIN, *_entry_points()}))


def family_ref(name: str) -> str | None:
    """An importable ``"pkg.module:Class"`` for the family called ``name``, so that any
    process finds it again; ``None`` for a built-in or a class that cannot be imported by
    name (one defined inside a function).

    :param name: the family's name
    """
    if name not in _REGISTERED and name in _BUILTIN:
        return None
    target = _target(name)
    if isinstance(target, str):
        return target
    cls = get_family(name)
    if "<locals>" in cls.__qualname__:
        return None
    return f"{cls.__module__}:{cls.__qualname__}"


def resolve_family(name: str, ref: str | None) -> FamilyClass:
    """The family of a spec: its reference if it has one (any process can import it),
    else its name; a reference that no longer imports falls back to the name.

    :param name: the family's name
    :param ref: its ``"pkg.module:Class"`` reference, if any
    """
    if ref is None:
        return get_family(name)
    try:
        cls = get_family(ref)
    except FamilyError as exc:
        try:
            return get_family(name)
        except UnknownNameError:
            raise exc from None
    if cls.name != name:
        raise FamilyError(f"{ref} is the family {cls.name!r}, but the spec names {name!r}; fix the spec")
    return cls


def _target(name: str) -> FamilyClass | str | None:
    if name in _REGISTERED:
        return _REGISTERED[name]
    if name in _BUILTIN:
        return _BUILTIN[name]
    installed = _entry_points().get(name)
    return installed if installed is not None else _entry_points(refresh=True).get(name)


def _checked(key: str, target: FamilyClass | str, name: str | None) -> FamilyClass:
    cached = _CHECKED.get((key, target))
    if cached is not None:
        return cached
    obj = _import_ref(target) if isinstance(target, str) else target
    cls = check_family_class(obj, name)
    _CHECKED[(key, target)] = cls
    return cls


def _split_ref(ref: str) -> tuple[str, str]:
    module, _, attr = ref.partition(":")
    if not module or not attr or ":" in attr:
        raise FamilyError(f"{ref!r} is not a family reference; write it as 'pkg.module:Class'")
    return module, attr


def _import_ref(ref: str) -> object:
    module_name, attr = _split_ref(ref)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise FamilyError(
            f"cannot import the module of family {ref!r} ({exc}); install the package that "
            "provides it or put it on the Python path"
        ) from exc
    except Exception as exc:  # the module itself is broken: name it, not a traceback
        raise FamilyError(
            f"importing the module of family {ref!r} raised {type(exc).__name__}: {exc}; fix that module"
        ) from exc
    obj: object = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise FamilyError(f"module {module_name!r} has no {attr!r}; check the family reference {ref!r}")
        obj = getattr(obj, part)
    return obj


_ENTRY_POINTS: dict[str, str] | None = None


def _entry_points(refresh: bool = False) -> dict[str, str]:
    """Installed families by name (entry points shadowed by a built-in are left out, with a warning)."""
    global _ENTRY_POINTS
    if _ENTRY_POINTS is None or refresh:
        found: dict[str, str] = {}
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            if ep.name in _BUILTIN:
                warnings.warn(
                    f"the entry point {ep.name!r} = {ep.value!r} (group {ENTRY_POINT_GROUP!r}) is ignored: "
                    f"{ep.name!r} is a built-in family; rename the entry point",
                    MtmlWarning,
                    stacklevel=3,
                )
                continue
            found[ep.name] = ep.value
        _ENTRY_POINTS = found
    return _ENTRY_POINTS


def family_origin(name: str) -> str:
    """Where the family called ``name`` comes from, in words (for listings and messages).

    :param name: the family's name
    """
    if name in _REGISTERED:
        target = _REGISTERED[name]
        return f"registered in this process: {target if isinstance(target, str) else describe(target)}"
    if name in _BUILTIN:
        return "a built-in family"
    if name == GENERIC_FAMILY:
        return "the built-in generic family"
    return f"an installed package's entry point {_entry_points().get(name)!r}"
