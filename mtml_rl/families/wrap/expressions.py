"""Arithmetic expressions of a spec's ``derived:`` block, parsed and evaluated safely.

An expression is Python arithmetic over numbers and names: ``+ - * / // % **``, unary
``-``, parentheses, the functions :data:`FUNCTIONS` and the constant ``pi``. A name is a
parameter of the spec or a (dotted) attribute of the environment, e.g.
``masspole * length`` or ``model.opt.timestep * 2``. Nothing else is accepted (no
indexing, calls of other functions, comparisons or attribute access on results), and
every number is a float, so no expression can run code or compute for long.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

FUNCTIONS: dict[str, Callable[..., float]] = {
    "abs": abs,
    "sqrt": math.sqrt,
    "exp": math.exp,
    "log": math.log,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "min": min,
    "max": max,
}
"""The functions an expression may call."""
CONSTANTS = {"pi": math.pi}
"""Names that are constants, not parameters or attributes."""
MAX_CHARS = 1_000
"""The longest expression accepted (a ``derived:`` formula is a line; 100,000 unary minus
signs ended in a ``MemoryError`` traceback)."""
MAX_DEPTH = 100
"""The deepest nesting of operations accepted (the evaluator recurses once per level, and
a few hundred levels ended in a ``RecursionError`` traceback)."""

_BINARY: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[float], float]] = {ast.USub: operator.neg, ast.UAdd: operator.pos}
ALLOWED = "numbers, names, + - * / // % **, parentheses, pi and " + ", ".join(FUNCTIONS)


class ExpressionError(ValueError):
    """An expression uses something that is not allowed, or cannot be evaluated."""


def dotted_name(node: ast.AST) -> str | None:
    """``a.b.c`` for a chain of attribute accesses on a name, else ``None``.

    :param node: an expression node
    """
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        owner = dotted_name(node.value)
        return None if owner is None else f"{owner}.{node.attr}"
    return None


@dataclass(frozen=True)
class Expression:
    """A validated arithmetic expression.

    :param text: the expression as written
    """

    text: str
    tree: ast.Expression = field(compare=False, hash=False, repr=False)

    @classmethod
    def parse(cls, text: object) -> Expression:
        """Parse and validate ``text``.

        :param text: the expression (a number is one too)
        :raises ExpressionError: with what is wrong and what is allowed
        """
        if isinstance(text, bool) or not isinstance(text, (str, int, float)):
            raise ExpressionError(f"expected an expression (a string or a number), got {text!r}")
        source = str(text)
        if len(source) > MAX_CHARS:
            raise ExpressionError(
                f"{source[:40]!r}... has {len(source):,} characters, more than an expression may "
                f"({MAX_CHARS:,}); write it shorter"
            )
        try:
            tree = ast.parse(source, mode="eval")
        except SyntaxError as exc:
            raise ExpressionError(
                f"{source!r} is not an expression ({exc.msg}); allowed: {ALLOWED}"
            ) from None
        except (RecursionError, MemoryError):  # nested deeper than Python's parser goes
            raise ExpressionError(f"{source[:40]!r}... is nested too deeply; write it flatter") from None
        if _depth(tree) > MAX_DEPTH:
            raise ExpressionError(
                f"{source[:40]!r}... is nested more than {MAX_DEPTH} levels deep; write it flatter"
            )
        for node in ast.walk(tree):
            _check_node(node, source)
        return cls(source, tree)

    @property
    def names(self) -> tuple[str, ...]:
        """The parameters and attributes the expression reads, in order of appearance."""
        out: list[str] = []
        self._collect(self.tree.body, out)
        return tuple(dict.fromkeys(out))

    def _collect(self, node: ast.AST, out: list[str]) -> None:
        name = dotted_name(node)
        if name is not None:
            if name not in CONSTANTS:
                out.append(name)
            return
        for child in ast.iter_child_nodes(node):
            if not (isinstance(node, ast.Call) and child is node.func):
                self._collect(child, out)

    def evaluate(self, lookup: Callable[[str], float]) -> float:
        """The value, with every name's value from ``lookup``.

        :param lookup: the value of a (dotted) name
        :raises ExpressionError: for an arithmetic error (division by zero, overflow ...)
        """
        try:
            return float(_evaluate(self.tree.body, lookup))
        except (ArithmeticError, TypeError, ValueError) as exc:
            raise ExpressionError(f"{self.text!r} cannot be evaluated: {exc}") from None


def _depth(tree: ast.AST) -> int:
    """How many nodes deep ``tree`` goes (counted without recursing)."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def _check_node(node: ast.AST, source: str) -> None:
    allowed = (
        ast.Expression,
        ast.BinOp,
        ast.UnaryOp,
        ast.Name,
        ast.Attribute,
        ast.Load,
        *_BINARY,
        *_UNARY,
    )
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise ExpressionError(f"{source!r}: {node.value!r} is not a number; allowed: {ALLOWED}")
    elif isinstance(node, ast.Call):
        if not (isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS) or node.keywords:
            called = ast.unparse(node.func)
            raise ExpressionError(f"{source!r}: cannot call {called!r}; allowed: {ALLOWED}")
    elif isinstance(node, ast.Attribute) and dotted_name(node) is None:
        raise ExpressionError(f"{source!r}: {ast.unparse(node)!r} is not a dotted name; allowed: {ALLOWED}")
    elif not isinstance(node, allowed):
        raise ExpressionError(f"{source!r}: {ast.unparse(node)!r} is not allowed; allowed: {ALLOWED}")


def _evaluate(node: ast.AST, lookup: Callable[[str], float]) -> Any:
    if isinstance(node, ast.Constant):
        return float(cast(float, node.value))
    name = dotted_name(node)
    if name is not None:
        return CONSTANTS[name] if name in CONSTANTS else float(lookup(name))
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](_evaluate(node.left, lookup), _evaluate(node.right, lookup))
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_evaluate(node.operand, lookup))
    if isinstance(node, ast.Call):
        assert isinstance(node.func, ast.Name)
        return FUNCTIONS[node.func.id](*(_evaluate(a, lookup) for a in node.args))
    raise AssertionError(f"unchecked node {ast.dump(node)}")  # _check_node refuses the rest
