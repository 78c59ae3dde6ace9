"""Family dynamics written once, run batched with numpy or one slot at a time with ``math``.

A :class:`KernelFamily` writes its dynamics once, as *kernels*: functions of an array
namespace ``xp`` (an :class:`ArrayOps`) and of *rows*, one per state variable, parameter or
action component. Run with :data:`NUMPY`, a row is an ``(N,)`` array and the kernels are the
batched dynamics of every slot of the vector env. Run with :func:`scalar_ops`, a row is a
Python float and the same kernels step one slot with the ``math`` module, at the speed of
Gymnasium's own single environments. The two runs agree bit for bit because

- ``+ - * / %``, comparisons, ``abs`` and square roots are correctly rounded (or exact) in
  both, and Python's float ``%`` follows numpy's ``remainder`` (sign of the divisor);
- the transcendental functions are the same C library functions: :func:`scalar_ops`
  compares ``math``'s with numpy's on sample values once per process and takes numpy's
  wherever they differ (e.g. numpy's AVX-512 SVML kernels, or ``math.hypot``);
- float32 arithmetic is written explicitly: ``xp.f32(a * b)`` rounds the float64 result to
  float32, which for ``+ - * /`` of float32 values equals numpy's float32 operation (float64
  has more than twice float32's precision, so the double rounding is innocuous).

Rules for kernels, so that both namespaces compute the same thing: a value that is float32
in the batched run is wrapped in ``xp.f32`` wherever it is computed, and constants that meet
float32 values are float32-representable (numpy converts a Python float to float32 first);
use ``xp.where``, ``xp.clip``, ``xp.any`` and ``xp.full`` instead of numpy functions, and
``xp.pack``/``xp.apply`` for small vectors (the integrator stages of Acrobot).
"""

from __future__ import annotations

import math
import struct
from abc import abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any, ClassVar, TypeAlias

import numpy as np
from gymnasium import spaces

from mtml_rl.families.base import Family, StepOutput

Row: TypeAlias = Any
"""One value per slot: a Python float, int or bool (one slot) or an ``(N,)`` array (a batch)."""
Rows: TypeAlias = Any
"""Rows of a state, an observation, parameters or an action: a tuple (one slot), a sequence
of ``(N,)`` arrays or a ``(K, N)`` array (a batch)."""
Transition: TypeAlias = tuple[Rows, Row, Row]
"""What :meth:`KernelFamily.transition` returns: the next state's rows, the reward, terminated."""


@dataclass(frozen=True)
class ArrayOps:
    """An array namespace: what kernels use beyond arithmetic, comparisons and ``abs``.

    :param name: ``"numpy"`` or ``"scalar"``
    :param cos: cosine (C ``cos``)
    :param sin: sine (C ``sin``)
    :param hypot: C ``hypot``
    :param pow: C ``pow`` (numpy's ``float_power``)
    :param f32: round to float32 (returns a float32 array, or a float holding a float32 value)
    :param f64: widen to float64 (a float32 row's values, exactly; the identity on floats)
    :param clip: ``clip(x, low, high)``; NaN stays NaN
    :param where: ``where(condition, if_true, if_false)``
    :param any: whether any entry of a boolean row is true
    :param full: ``full(like, value)``: a row shaped like ``like`` holding ``value``
    :param take: ``take(table, index)``: entries of a tuple of floats at integer rows
    :param pack: a small vector from rows (a ``(K, N)`` array, or a tuple)
    :param apply: ``apply(fn, *vectors)``: ``fn`` element by element over packed vectors
    :param f32view: a float32 memoryview of one entry that kernels derived for one slot
        (:mod:`mtml_rl.families.scalarize`) round through, in a namespace used by one caller
        at a time (:func:`slot_ops`); ``None``: they use the calling thread's own
    """

    name: str
    cos: Callable[[Row], Row]
    sin: Callable[[Row], Row]
    hypot: Callable[[Row, Row], Row]
    pow: Callable[[Row, Row], Row]
    f32: Callable[[Row], Row]
    f64: Callable[[Row], Row]
    clip: Callable[[Row, float, float], Row]
    where: Callable[[Row, Row, Row], Row]
    any: Callable[[Row], bool]
    full: Callable[[Row, Any], Row]
    take: Callable[[tuple[float, ...], Row], Row]
    pack: Callable[[Rows], Any]
    apply: Callable[..., Any]
    f32view: Any = field(default=None, compare=False)

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        """Pickle by name: a namespace holds functions, and each process builds its own."""
        return ops_named, (self.name,)


def _clip_ufunc() -> Callable[[Any, Any, Any], Any]:
    """numpy's ``clip`` ufunc itself (what :func:`numpy.clip` calls after argument checks)."""
    core = getattr(np, "_core", None) or np.core  # numpy 2 / numpy 1.26
    ufunc = getattr(core.umath, "clip", None)
    if ufunc is None:
        return lambda x, low, high: np.minimum(np.maximum(x, low), high)
    return ufunc


NUMPY = ArrayOps(
    name="numpy",
    cos=np.cos,
    sin=np.sin,
    hypot=np.hypot,
    pow=np.float_power,
    f32=lambda x: np.asarray(x, dtype=np.float32),
    f64=lambda x: np.asarray(x, dtype=np.float64),
    clip=_clip_ufunc(),
    where=np.where,
    any=lambda c: bool(np.any(c)),
    full=lambda like, value: np.full(np.shape(like), value),
    take=lambda table, index: np.take(table, index),
    pack=np.array,  # faster than np.stack for a few rows; the same values and dtype
    apply=lambda fn, *vectors: fn(*vectors),
)
"""The batched namespace: rows are ``(N,)`` numpy arrays."""

_F32 = struct.Struct("f")


def round_f32(x: float) -> float:
    """``x`` rounded to the nearest float32, as a Python float (numpy's float64 -> float32 cast)."""
    try:
        return _F32.unpack(_F32.pack(x))[0]
    except OverflowError:  # beyond float32's range: numpy's cast gives +-inf
        return float(np.float32(x))


def _clip(x: float, low: float, high: float) -> float:
    return low if x < low else (high if x > high else x)


def _where(condition: bool, if_true: Any, if_false: Any) -> Any:
    return if_true if condition else if_false


def _probe_args(arity: int) -> tuple[np.ndarray, ...]:
    """Seeded sample arguments in the ranges kernels use (``pow``: squares only)."""
    rng = np.random.default_rng(20240531)
    x = np.concatenate([rng.uniform(-10, 10, 2000), rng.normal(0, 0.1, 1000), rng.uniform(-1e3, 1e3, 500)])
    if arity == 1:
        return (x,)
    return x, rng.uniform(-4, 4, x.size)


def _square_args() -> tuple[np.ndarray, ...]:
    (x,) = _probe_args(1)
    return x, np.full_like(x, 2.0)


Probe: TypeAlias = tuple[Callable[..., float], Callable[..., Any], Callable[[], tuple[np.ndarray, ...]]]
"""A scalar function, numpy's counterpart, and a maker of sample arguments."""

SCALAR_PROBES: dict[str, Probe] = {
    "cos": (math.cos, np.cos, lambda: _probe_args(1)),
    "sin": (math.sin, np.sin, lambda: _probe_args(1)),
    "hypot": (math.hypot, np.hypot, lambda: _probe_args(2)),
    "pow": (lambda x, y: x**y, np.float_power, _square_args),
}
"""Each function of the scalar namespace: the ``math`` version, numpy's, and sample arguments."""


def _agrees(
    scalar_fn: Callable[..., float], numpy_fn: Callable[..., Any], args: tuple[np.ndarray, ...]
) -> bool:
    expected = numpy_fn(*args)
    got = np.array([scalar_fn(*a) for a in zip(*(arg.tolist() for arg in args), strict=True)])
    return bool(np.array_equal(expected, got))


def _numpy_backed(numpy_fn: Callable[..., Any]) -> Callable[..., float]:
    def call(*args: float) -> float:
        return float(numpy_fn(*args))

    return call


@cache
def scalar_ops() -> ArrayOps:
    """The one-slot namespace: rows are Python floats, functions come from ``math``.

    Each transcendental function is checked once per process against numpy's on sample
    arguments; where the two differ (numpy built with other kernels, such as AVX-512 SVML
    on some CPUs, or ``math.hypot``, which is not C's), numpy's is called on the float, so
    the scalar path always computes what the batched path computes.
    """
    return build_scalar_ops(SCALAR_PROBES)


def build_scalar_ops(probes: Mapping[str, Probe]) -> ArrayOps:
    """The scalar namespace with the functions ``probes`` names checked against numpy's."""
    chosen = {
        name: scalar_fn if _agrees(scalar_fn, numpy_fn, args()) else _numpy_backed(numpy_fn)
        for name, (scalar_fn, numpy_fn, args) in probes.items()
    }
    return ArrayOps(
        name="scalar",
        cos=chosen["cos"],
        sin=chosen["sin"],
        hypot=chosen["hypot"],
        pow=chosen["pow"],
        f32=round_f32,
        f64=lambda x: x,
        clip=_clip,
        where=_where,
        any=bool,
        full=lambda like, value: value,
        take=lambda table, index: table[index],
        pack=tuple,
        apply=lambda fn, *vectors: tuple(map(fn, *vectors)),
    )


def slot_ops() -> ArrayOps:
    """The scalar namespace with a float32 memoryview of its own (``f32view``), for one
    caller at a time, such as one single env: a derived kernel's float32 roundings then
    read the view off the namespace instead of looking up the calling thread's (a
    ``threading.local`` attribute costs about ten times a plain one)."""
    return replace(scalar_ops(), f32view=memoryview(bytearray(4)).cast("f"))


def ops_named(name: str) -> ArrayOps:
    """The namespace called ``name`` (``"numpy"`` or ``"scalar"``)."""
    return NUMPY if name == NUMPY.name else scalar_ops()


class KernelFamily(Family):
    """A numpy family whose dynamics are kernels over an array namespace (see the module).

    Subclasses implement :meth:`start`, :meth:`transition` and :meth:`observation` (and
    :meth:`derive`, :meth:`succeeded` where they need them) once; the batched
    :class:`~mtml_rl.families.base.Family` functions the vector env calls are those kernels
    run with :data:`NUMPY`, and the single env runs them with :func:`scalar_ops`.
    """

    success_is_termination: ClassVar[bool] = False
    """Whether :meth:`succeeded` of the state a transition reaches always equals that
    transition's ``terminated`` (the one-slot env then reads success off the transition;
    the tests compare it with :meth:`succeeded` at every step)."""

    # -- kernels --------------------------------------------------------------------------
    def derive(self, xp: ArrayOps, params: Rows) -> tuple[Row, ...]:
        """Quantities that depend on the parameters only (the single env computes them once
        per task, the batched dynamics at every step). Default: none."""
        return ()

    @abstractmethod
    def start(self, xp: ArrayOps, uniforms: Rows, params: Rows) -> Rows:
        """The initial state's rows from the rows of ``n_reset_uniforms`` U[0, 1) doubles."""

    @abstractmethod
    def transition(self, xp: ArrayOps, state: Rows, action: Any, params: Rows, derived: Any) -> Transition:
        """One transition: ``(next state rows, reward, terminated)``.

        :param action: an integer row (discrete families) or the rows of the action's
            components as float64 (continuous ones), unclipped
        :param derived: what :meth:`derive` returned for ``params``
        """

    @abstractmethod
    def observation(self, xp: ArrayOps, state: Rows, params: Rows) -> Rows:
        """The observation's rows (cast to float32 by the caller)."""

    def succeeded(self, xp: ArrayOps, state: Rows, params: Rows) -> Row | None:
        """Whether the state counts as success, or ``None`` where undefined (the default)."""
        return None

    # -- the batched Family interface, from the kernels ------------------------------------
    def initial_state(self, uniforms: np.ndarray, params: np.ndarray) -> np.ndarray:
        return np.asarray(self.start(NUMPY, uniforms.T, params), dtype=np.float64)

    def step(self, state: np.ndarray, action: np.ndarray, params: np.ndarray) -> StepOutput:
        rows: np.ndarray
        if has_discrete_actions(self):
            rows = np.asarray(action, dtype=np.int64)
        else:  # (N, A) actions as A rows
            rows = np.asarray(action, dtype=np.float64).reshape(len(action), -1).T
        derived = self.derive(NUMPY, params)
        next_state, reward, terminated = self.transition(NUMPY, state, rows, params, derived)
        out = np.asarray(next_state, dtype=np.float64)  # packed already (xp.apply) or rows to stack
        return StepOutput(out.copy() if out is state else out, reward, terminated)

    def observe(self, state: np.ndarray, params: np.ndarray) -> np.ndarray:
        return np.asarray(self.observation(NUMPY, state, params)).T.astype(np.float32)

    def success(self, state: np.ndarray, params: np.ndarray) -> np.ndarray | None:
        flags = self.succeeded(NUMPY, state, params)
        return None if flags is None else np.asarray(flags, dtype=bool)


_DISCRETE: dict[type, bool] = {}


def has_discrete_actions(family: Family) -> bool:
    """Whether the family's action space is Discrete (looked up once per family class)."""
    kind = type(family)
    if kind not in _DISCRETE:
        _DISCRETE[kind] = isinstance(family.action_space(), spaces.Discrete)
    return _DISCRETE[kind]
