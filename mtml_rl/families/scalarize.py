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
``xp.f32(x)``          ``view[0] = x; h = view[0]`` before the statement, ``h`` in it
                       (a store into and a load from a float32 memoryview, no call), or
                       ``unpack(pack(x))[0]`` (a float32 ``struct`` round trip) where the
                       statement does not always evaluate it
``xp.f64(x)``          ``(x)``
``xp.full(like, v)``   ``v``
``xp.any(c)``          ``(c)``
``xp.take(t, i)``      ``t[i]``
``xp.pack(rows)``      ``tuple(rows)``
``xp.apply(f, *v)``    ``tuple(map(f, *v))``
``xp.cos(x)`` ...      the scalar namespace's function, bound once
=====================  ==================================================================

Each rewrite computes what the scalar namespace's function computes (the branches of
``where`` are pure, so evaluating one of them is the same as evaluating both). A float32
rounding that its statement always evaluates (not in a branch of ``where`` or ``clip``, the
right of ``and``/``or``, a later comparison of a chain, a lambda or a comprehension) is
computed just before the statement, in the order of evaluation, which gives the same values
since kernels are pure; the memoryview, fetched once per call, is the namespace's own where
it carries one (:func:`~mtml_rl.families.kernel.slot_ops`: a one-slot engine's, used by one
caller at a time) and the calling thread's otherwise.
A statement ``name = xp.where(c, a, b)`` (or ``return ...``) with a rounding in ``a`` or
``b`` and none in ``c`` is first written as ``if c: name = a`` / ``else: name = b``, so that
each branch's roundings are hoisted within it. Other uses of
``xp`` (passing it to helpers) are kept, with ``xp`` the scalar namespace. A kernel whose
source cannot be read or rewritten (no source file, a closure, ``super()``) is used as it is.
Arithmetic errors of the inline code (a float32 overflow, ``math`` domain errors), where
numpy would return ``inf`` or ``nan``, are the caller's to handle
(:class:`~mtml_rl.envs.kernel_slot.KernelSlot` then recomputes the step with numpy).

:func:`observed_transition` derives, the same way, one function from a family's
``transition`` and ``observation`` kernels, the observation's statements inlined before the
transition's ``return``: a one-slot step is then one kernel call, not two.
"""

from __future__ import annotations

import ast
import copy
import inspect
import itertools
import struct
import textwrap
import threading
from collections.abc import Callable
from functools import cache
from typing import Any

from mtml_rl.families.kernel import ArrayOps, scalar_ops

XP = "xp"
"""The name kernels give their namespace parameter."""
_BOUND = ("cos", "sin", "hypot", "pow")
"""Namespace functions called through a name bound once (``_xp_cos`` ...)."""
_F32 = struct.Struct("f")
_ROUND = "_xp_f32"
"""The call the inline rewrite leaves for ``xp.f32`` (replaced by :class:`_Hoist`)."""
_VIEW = "_xp_f32v"
"""The local name of the thread's float32 memoryview in a derived kernel."""


class _Views(threading.local):
    """One float32 memoryview per thread (the store and load of a rounding are adjacent
    bytecodes of one thread, with no call between them)."""

    def __init__(self) -> None:
        self.view = memoryview(bytearray(4)).cast("f")


_VIEWS = _Views()


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
        return ast.Call(_name(_ROUND), [x], [])

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


def _struct_round(x: ast.expr) -> ast.expr:
    """``unpack(pack(x))[0]``: ``x`` rounded to float32, as an expression."""
    packed = ast.Call(_name("_xp_pack"), [x], [])
    return ast.Subscript(ast.Call(_name("_xp_unpack"), [packed], []), ast.Constant(0), ast.Load())


def _is_round(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == _ROUND


_SIMPLE = (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Return, ast.Expr)
"""Statements whose value the hoisting reaches into (others keep struct round trips)."""
_OPAQUE = (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


class _Hoist:
    """Moves each float32 rounding a statement always evaluates in front of it (see the
    module docstring); :func:`_finish` turns the others into struct round trips."""

    def __init__(self) -> None:
        self._names = itertools.count()
        self.hoisted = 0

    def body(self, statements: list[ast.stmt]) -> list[ast.stmt]:
        """The statements with their roundings hoisted (blocks of compound statements too)."""
        out: list[ast.stmt] = []
        for statement in statements:
            statement = _branched(statement)
            if isinstance(statement, _SIMPLE) and statement.value is not None:
                out += self._statement(statement)
                continue
            if not isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                for block in ("body", "orelse", "finalbody"):
                    inner = getattr(statement, block, None)
                    if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                        setattr(statement, block, self.body(inner))
                for handler in getattr(statement, "handlers", []):
                    handler.body = self.body(handler.body)
            out.append(statement)
        return out

    def _statement(self, statement: Any) -> list[ast.stmt]:
        walrus = {n.target.id for n in ast.walk(statement) if isinstance(n, ast.NamedExpr)}
        before: list[ast.stmt] = []
        statement.value = self._visit(statement.value, before, walrus)
        located = [ast.copy_location(new, statement) for new in before]
        single = isinstance(statement, ast.Assign) and len(statement.targets) == 1
        if single and isinstance(statement.targets[0], ast.Name) and _is_load_of(statement.value, before):
            located[-1].targets = statement.targets  # type: ignore[attr-defined]
            return located  # ``name = f32(...)``: the load goes straight to ``name``
        return [*located, statement]

    def _visit(self, node: ast.expr, before: list[ast.stmt], walrus: set[str]) -> ast.expr:
        """``node`` with the roundings it always evaluates replaced by hoisted names."""
        if isinstance(node, _OPAQUE):
            return node
        for field in _always_evaluated(node):
            value = getattr(node, field)
            if isinstance(value, ast.expr):
                setattr(node, field, self._visit(value, before, walrus))
            elif isinstance(value, list):
                value[:] = [self._visit(v, before, walrus) if isinstance(v, ast.expr) else v for v in value]
        if isinstance(node, ast.Call) and _is_round(node) and _hoistable(node, walrus):
            name = f"_xp_h{next(self._names)}"
            before += _round_into(ast.Name(name, ast.Store()), node.args[0])
            self.hoisted += 1
            return _name(name)
        return node


def _rounds(node: ast.AST) -> bool:
    """Whether ``node`` contains a float32 rounding."""
    return any(_is_round(n) for n in ast.walk(node))


def _branched(statement: ast.stmt) -> ast.stmt:
    """``name = a if c else b`` (or ``return a if c else b``) with a float32 rounding in a
    branch and none in ``c`` as the ``if c: ... else: ...`` statement that assigns (returns)
    ``a`` or ``b``: the same evaluation, and each branch's roundings become statements that
    can be hoisted (in the expression they are struct round trips). Other statements are
    returned as they are."""
    value = getattr(statement, "value", None)
    plain = isinstance(statement, ast.Return) or (
        isinstance(statement, ast.Assign)
        and len(statement.targets) == 1
        and isinstance(statement.targets[0], ast.Name)
    )
    if not plain or not isinstance(value, ast.IfExp) or _rounds(value.test):
        return statement
    if not (_rounds(value.body) or _rounds(value.orelse)):
        return statement

    def branch(expr: ast.expr) -> ast.stmt:
        if isinstance(statement, ast.Return):
            return ast.copy_location(ast.Return(expr), statement)
        assert isinstance(statement, ast.Assign)
        return ast.copy_location(ast.Assign([copy.deepcopy(statement.targets[0])], expr), statement)

    return ast.copy_location(ast.If(value.test, [branch(value.body)], [branch(value.orelse)]), statement)


def _round_into(target: ast.expr, value: ast.expr) -> list[ast.stmt]:
    """``view[0] = value; target = view[0]``: the store and the load adjacent, so that nothing
    (a helper kernel rounding on the same view) runs between them."""
    store = ast.Assign([ast.Subscript(_name(_VIEW), ast.Constant(0), ast.Store())], value)
    return [store, ast.Assign([target], ast.Subscript(_name(_VIEW), ast.Constant(0), ast.Load()))]


def _is_load_of(value: ast.expr, before: list[ast.stmt]) -> bool:
    """Whether ``value`` is the name the last hoisted statement (a load) assigns."""
    last = before[-1] if before else None
    target = last.targets[0] if isinstance(last, ast.Assign) else None
    return isinstance(value, ast.Name) and isinstance(target, ast.Name) and target.id == value.id


def _always_evaluated(node: ast.expr) -> list[str]:
    """The fields of ``node`` evaluated whenever ``node`` is, in Python's order of evaluation."""
    if isinstance(node, ast.IfExp):
        return ["test"]
    if isinstance(node, ast.BoolOp):  # only the first operand
        return []
    if isinstance(node, ast.Compare):  # a chain stops at its first false comparison
        return ["left"] if len(node.comparators) > 1 else ["left", "comparators"]
    return [field for field, _ in ast.iter_fields(node)]


def _hoistable(node: ast.Call, walrus: set[str]) -> bool:
    """Whether the rounding can move before its statement: one plain argument that reads no
    name the statement assigns with ``:=`` outside the argument."""
    if len(node.args) != 1 or node.keywords or isinstance(node.args[0], ast.Starred):
        return False
    inside = {n.target.id for n in ast.walk(node.args[0]) if isinstance(n, ast.NamedExpr)}
    read = {n.id for n in ast.walk(node.args[0]) if isinstance(n, ast.Name)}
    return not (read & walrus) - inside


class _Finish(ast.NodeTransformer):
    """The roundings left in place become struct round trips."""

    def visit_Call(self, node: ast.Call) -> Any:
        self.generic_visit(node)
        return _struct_round(node.args[0]) if _is_round(node) and len(node.args) == 1 else node


def _hoist_roundings(definition: ast.FunctionDef) -> ast.FunctionDef:
    """The derived kernel with its float32 roundings hoisted where they can be, and a
    float32 memoryview fetched at its start if any is: the namespace's own where it has one
    (:func:`~mtml_rl.families.kernel.slot_ops`), else the calling thread's."""
    hoist = _Hoist()
    definition.body = hoist.body(definition.body)
    if hoist.hoisted:
        own = ast.Attribute(_name(XP), "f32view", ast.Load())
        thread = ast.Attribute(_name("_xp_views"), "view", ast.Load())
        fetch = ast.Assign([ast.Name(_VIEW, ast.Store())], ast.BoolOp(ast.Or(), [own, thread]))
        definition.body.insert(0, ast.copy_location(fetch, definition.body[0]))
    finished: ast.FunctionDef = _Finish().visit(definition)
    return finished


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
    return {**bound, "_xp_pack": _F32.pack, "_xp_unpack": _F32.unpack, "_xp_views": _VIEWS}


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
    return _compile(definition, fn, f"{fn.__qualname__}[scalar]") or fn


def _compile(
    definition: ast.FunctionDef, fn: Callable[..., Any], qualname: str, *inlined: Callable[..., Any]
) -> Callable[..., Any] | None:
    """The one-slot function of ``definition`` (the source of ``fn``, or ``fn``'s source
    with the kernels ``inlined`` inlined), compiled in ``fn``'s module; ``None`` where a
    namespace call has the wrong number of arguments (left to fail as written)."""
    definition.decorator_list = []
    try:
        definition = _hoist_roundings(_Inline().visit(definition))
    except TypeError:
        return None
    module = ast.fix_missing_locations(ast.Module([definition], type_ignores=[]))
    ast.increment_lineno(module, fn.__code__.co_firstlineno - 1)
    helpers = {name: h for kernel in (fn, *inlined) for name, h in _kernel_helpers(kernel).items()}
    scope = {**fn.__globals__, **_namespace_bindings(scalar_ops()), **helpers}
    exec(compile(module, fn.__code__.co_filename, "exec"), scope)
    derived: Callable[..., Any] = scope[definition.name]
    derived.__doc__ = fn.__doc__
    derived.__qualname__ = qualname
    return derived


_SCOPED: tuple[type[ast.AST], ...] = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.Lambda,
    ast.Global,
    ast.Nonlocal,
)
_SCOPED += (ast.Import, ast.ImportFrom, ast.Return, ast.Yield, ast.YieldFrom, ast.Await)
"""Nodes an inlined observation's statements may not contain (other scopes, other exits)."""
_NEXT, _REWARD, _DONE = "_xp_next", "_xp_reward", "_xp_done"
"""The fused kernel's names of the transition's results."""
_OBSERVED_PREFIX = "_xp_o_"
"""The prefix of an inlined observation's local names."""


def _positional(definition: ast.FunctionDef, count: int) -> list[str] | None:
    """The names of the function's ``count`` positional parameters, or ``None`` where it has
    another number, defaults, ``*args``, keyword-only parameters or ``**kwargs``."""
    args = definition.args
    plain = not (args.posonlyargs or args.vararg or args.kwonlyargs or args.kwarg or args.defaults)
    names = [a.arg for a in args.args]
    return names if plain and len(names) == count else None


def _stored(nodes: list[ast.stmt]) -> set[str]:
    """The names the statements assign or delete."""
    return {
        n.id
        for statement in nodes
        for n in ast.walk(statement)
        if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)
    }


def _inlinable(observation: ast.FunctionDef) -> list[str] | None:
    """The observation's parameters, if its body is straight-line statements (no other scope
    or exit, its parameters not rebound) ending in its only ``return``."""
    params = _positional(observation, 4)
    *body, last = observation.body
    if params is None or not isinstance(last, ast.Return) or last.value is None:
        return None
    nodes = [n for statement in [*body, last.value] for n in ast.walk(statement)]
    if any(isinstance(n, (*_SCOPED, *_OPAQUE)) for n in nodes):
        return None
    return None if set(params) & _stored(body) else params


def _inlined(observation: ast.FunctionDef, bound: dict[str, str]) -> list[ast.stmt]:
    """The observation's statements, its parameters renamed to the names ``bound`` gives and
    its locals prefixed, the last an assignment of the returned value to :data:`_OBS`."""
    *body, last = copy.deepcopy(observation.body)
    assert isinstance(last, ast.Return) and last.value is not None
    local = _stored(body)
    statements = [*body, ast.Assign([ast.Name(_OBS, ast.Store())], last.value)]
    for n in (n for statement in statements for n in ast.walk(statement)):
        if isinstance(n, ast.Name) and n.id in bound:
            n.id = bound[n.id]
        elif isinstance(n, ast.Name) and n.id in local:
            n.id = _OBSERVED_PREFIX + n.id
    return statements


_OBS = "_xp_obs"


class _Observe(ast.NodeTransformer):
    """Rewrites each ``return (next_state, reward, terminated)`` of a transition into the
    observation's statements on ``next_state`` and ``return next_state, obs, reward,
    terminated`` (nested functions keep their own returns)."""

    def __init__(self, observation: ast.FunctionDef, bound: dict[str, str]) -> None:
        self.observation = observation
        self.bound = bound

    def visit_FunctionDef(self, node: ast.FunctionDef) -> Any:
        return node

    def visit_Return(self, node: ast.Return) -> Any:
        value = node.value or ast.Constant(None)
        elts = value.elts if isinstance(value, ast.Tuple) else []
        if len(elts) == 3 and not any(isinstance(e, ast.Starred) for e in elts):
            head: ast.stmt = ast.Assign([ast.Name(_NEXT, ast.Store())], elts[0])
            reward, terminated = elts[1], elts[2]
        else:  # unpacked (a value that is not a triple raises, as the caller's unpacking would)
            head = ast.Assign(
                [ast.Tuple([ast.Name(n, ast.Store()) for n in (_NEXT, _REWARD, _DONE)], ast.Store())], value
            )
            reward, terminated = _name(_REWARD), _name(_DONE)
        result = ast.Return(ast.Tuple([_name(_NEXT), _name(_OBS), reward, terminated], ast.Load()))
        statements = [head, *_inlined(self.observation, self.bound), result]
        return [ast.copy_location(s, node) for s in statements]


def _fused_definition(
    transition: Callable[..., Any], observation: Callable[..., Any]
) -> ast.FunctionDef | None:
    """The transition's definition with the observation inlined at each ``return`` (see
    :func:`observed_transition`), or ``None`` where the two cannot be fused."""
    definition, inner = _parse(transition), _parse(observation)
    if definition is None or inner is None or transition.__globals__ is not observation.__globals__:
        return None
    names, inner_names = _positional(definition, 6), _inlinable(inner)
    if names is None or inner_names is None:
        return None
    self_name, xp_name, _, _, params_name, _ = names
    used = {n.id for n in ast.walk(definition) if isinstance(n, ast.Name)}
    assigned = _stored([definition])
    if any(name.startswith("_xp_") for name in used) or {self_name, xp_name, params_name} & assigned:
        return None  # a reserved name, or an argument the observation takes rebound
    read = {n.id for n in ast.walk(inner) if isinstance(n, ast.Name)} - set(inner_names) - _stored(inner.body)
    if read & (assigned | set(names)):
        return None  # a global the observation reads is a local of the transition
    bound = dict(zip(inner_names, (self_name, xp_name, _NEXT, params_name), strict=True))
    fused: ast.FunctionDef = _Observe(inner, bound).generic_visit(definition)  # type: ignore[assignment]
    fused.name = f"{fused.name}_observed"
    return fused


@cache
def observed_transition(
    transition: Callable[..., Any], observation: Callable[..., Any]
) -> Callable[..., Any] | None:
    """The one-slot transition kernel that also computes the next state's observation: one
    call instead of two per step.

    ``transition(self, xp, state, action, params, derived)`` returns ``(next_state, reward,
    terminated)`` and ``observation(self, xp, state, params)`` the observation's rows; the
    result takes the transition's arguments and returns ``(next_state, observation of
    next_state, reward, terminated)``. The observation's statements are inlined before each
    of the transition's ``return`` statements (its parameters bound to the transition's
    ``self``, ``xp``, the next state and ``params``, its locals renamed; the reward and
    ``terminated`` are evaluated after it, which changes nothing as kernels are pure), and
    the fused function is derived as :func:`scalarize` derives a kernel. ``None`` where the
    two cannot be fused: either cannot be rewritten, they live in different modules, the
    observation is more than straight-line statements ending in its only ``return`` (no
    nested scope, no parameter rebound), or the transition rebinds ``self``, ``xp`` or
    ``params`` or uses a name of the ``_xp_`` prefix the rewrite reserves.
    """
    definition = _fused_definition(transition, observation)
    if definition is None:
        return None
    return _compile(definition, transition, f"{transition.__qualname__}+observation[scalar]", observation)
