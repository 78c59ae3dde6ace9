"""The one-slot version of a kernel, derived from its source: namespace calls become inline Python.

Run with :func:`~mtml_rl.families.kernel.scalar_ops`, a kernel spends much of its time
calling small Python functions (``xp.where``, ``xp.clip``, ``xp.f32`` ...). :func:`scalarize`
rewrites the kernel's own source once per process into a function where those calls are
inline expressions, and compiles it in the kernel's module, so that the one definition
of the dynamics also gives a one-slot path at the speed of hand-written scalar code:

=====================  ==================================================================
kernel source          derived one-slot code
=====================  ==================================================================
``xp.where(c, a, b)``  ``(a if c else b)``
``xp.clip(x, lo, hi)``  ``(lo if (t := x) < lo else (hi if t > hi else t))``
``xp.f32(x)``          ``unpack(pack(x))[0]`` (a float32 ``struct`` round trip)
``xp.f64(x)``          ``(x)``
``xp.full(like, v)``   ``v``
``xp.any(c)``          ``(c)``
``xp.take(t, i)``      ``t[i]``
``xp.pack(rows)``      ``tuple(rows)``
``xp.apply(f, *v)``    ``tuple(map(f, *v))``
``xp.cos(x)`` ...      the scalar namespace's function, bound once
=====================  ==================================================================

Each rewrite computes what the scalar namespace's function computes (the branches of
``where`` are pure, so evaluating one of them is the same as evaluating both). Other uses of
``xp`` (passing it to helpers) are kept, with ``xp`` the scalar namespace. A kernel whose
source cannot be read or rewritten (no source file, a closure, ``super()``) is used as it is.
Arithmetic errors of the inline code (a float32 overflow, ``math`` domain errors), where
numpy would return ``inf`` or ``nan``, are the caller's to handle
(:class:`~mtml_rl.envs.kernel_slot.KernelSlot` then recomputes the step with numpy).
"""

from __future__ import annotations

import ast
import copy
import inspect
import itertools
import struct
import textwrap
from collections.abc import Callable
from functools import cache
from typing import Any

from mtml_rl.families.kernel import ArrayOps, scalar_ops

XP = "xp"
"""The name kernels give their namespace parameter."""
_BOUND = ("cos", "sin", "hypot", "pow")
"""Namespace functions called through a name bound once (``_xp_cos`` ...)."""
_F32 = struct.Struct("f")


class _Inline(ast.NodeTransformer):
    """Rewrites ``xp.<op>(...)`` calls of one function into inline expressions."""

    def __init__(self) -> None:
        self._temps = itertools.count()

    def visit_Call(self, node: ast.Call) -> Any:
        self.generic_visit(node)
        op = _namespace_op(node)
        if op in _BOUND:
            return ast.Call(_name(f"_xp_{op}"), node.args, [])
        rewrite = getattr(self, f"_op_{op}", None) if op is not None else None
        starred = any(isinstance(a, ast.Starred) for a in node.args)
        if rewrite is None or (starred and op != "apply"):
            return node
        return rewrite(*node.args)

    def _op_where(self, cond: ast.expr, if_true: ast.expr, if_false: ast.expr) -> ast.expr:
        return ast.IfExp(cond, if_true, if_false)

    def _op_clip(self, x: ast.expr, low: ast.expr, high: ast.expr) -> ast.expr:
        temp = f"_xp_t{next(self._temps)}"
        bound = ast.NamedExpr(ast.Name(temp, ast.Store()), x)
        above = ast.IfExp(_less(high, _name(temp)), copy.deepcopy(high), _name(temp))
        return ast.IfExp(_less(bound, low), copy.deepcopy(low), above)

    def _op_f32(self, x: ast.expr) -> ast.expr:
        packed = ast.Call(_name("_xp_pack"), [x], [])
        return ast.Subscript(ast.Call(_name("_xp_unpack"), [packed], []), ast.Constant(0), ast.Load())

    def _op_f64(self, x: ast.expr) -> ast.expr:
        return x

    def _op_full(self, like: ast.expr, value: ast.expr) -> ast.expr:
        return value

    def _op_any(self, condition: ast.expr) -> ast.expr:
        return condition

    def _op_take(self, table: ast.expr, index: ast.expr) -> ast.expr:
        return ast.Subscript(table, index, ast.Load())

    def _op_pack(self, rows: ast.expr) -> ast.expr:
        return ast.Call(_name("tuple"), [rows], [])

    def _op_apply(self, fn: ast.expr, *vectors: ast.expr) -> ast.expr:
        return ast.Call(_name("tuple"), [ast.Call(_name("map"), [fn, *vectors], [])], [])


def _namespace_op(node: ast.Call) -> str | None:
    """``op`` if ``node`` is a call ``xp.op(...)`` without keywords, else ``None``."""
    func = node.func
    if node.keywords or not isinstance(func, ast.Attribute):
        return None
    return func.attr if isinstance(func.value, ast.Name) and func.value.id == XP else None


def _name(name: str) -> ast.Name:
    return ast.Name(name, ast.Load())


def _less(a: ast.expr, b: ast.expr) -> ast.Compare:
    return ast.Compare(a, [ast.Lt()], [b])


def _namespace_bindings(xp: ArrayOps) -> dict[str, Any]:
    """The names the rewritten code calls."""
    bound = {f"_xp_{name}": getattr(xp, name) for name in _BOUND}
    return {**bound, "_xp_pack": _F32.pack, "_xp_unpack": _F32.unpack}


def _parse(fn: Callable[..., Any]) -> ast.FunctionDef | None:
    """The function's definition, if it is a kernel that can be rewritten."""
    code = getattr(fn, "__code__", None)
    if code is None or code.co_freevars or "super" in code.co_names or XP not in code.co_varnames:
        return None
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return None
    definition = tree.body[0] if len(tree.body) == 1 else None
    return definition if isinstance(definition, ast.FunctionDef) else None


def _kernel_helpers(fn: Callable[..., Any]) -> dict[str, Callable[..., Any]]:
    """The derived versions of the module-level kernels ``fn`` calls by name (helpers that
    take ``xp``, such as Acrobot's ``rk4``), so that the rewrite reaches into them."""
    helpers = {}
    for name in fn.__code__.co_names:
        value = fn.__globals__.get(name)
        if inspect.isfunction(value) and value is not fn and XP in value.__code__.co_varnames[:1]:
            helpers[name] = scalarize(value)
    return helpers


@cache
def scalarize(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The one-slot version of the kernel ``fn`` (a function or an unbound method whose
    namespace parameter is called ``xp``), compiled once per process.

    The result takes the same arguments (pass the scalar namespace as ``xp``); ``fn`` itself
    is returned where it cannot be rewritten.
    """
    definition = _parse(fn)
    if definition is None:
        return fn
    definition.decorator_list = []
    try:
        definition = _Inline().visit(definition)
    except TypeError:  # a namespace call with the wrong number of arguments: leave it to fail as written
        return fn
    module = ast.fix_missing_locations(ast.Module([definition], type_ignores=[]))
    ast.increment_lineno(module, fn.__code__.co_firstlineno - 1)
    scope = {**fn.__globals__, **_namespace_bindings(scalar_ops()), **_kernel_helpers(fn)}
    exec(compile(module, fn.__code__.co_filename, "exec"), scope)
    derived: Callable[..., Any] = scope[definition.name]
    derived.__doc__ = fn.__doc__
    derived.__qualname__ = f"{fn.__qualname__}[scalar]"
    return derived
