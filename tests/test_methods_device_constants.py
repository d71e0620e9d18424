"""No tensor constant in methods/ that would sit on the CPU next to CUDA tensors (issue 21, item 1).

``Tensor.clamp`` with a tensor bound takes the ``clamp.Tensor`` overload, which on a CUDA input raises "Expected all
tensors to be on the same device" when the bound was made on the CPU. Neither the "meta" device nor FakeTensor mode
reproduces that on a CPU-only machine, so this is a static check of the source (the AST of every file in methods/):

1. a clamp-family bound (``clamp``/``clip``/``clamp_min``/``clamp_max``, method or ``torch.`` function) is a Python
   number expression, or a tensor made with ``device=``; a name assigned from a device-less tensor factory in the same
   function counts as that factory;
2. no tensor *constant* (a factory call whose arguments are all literals or UPPER_CASE constants) without ``device=``:
   a constant is never data to be moved with a batch, so where it lives must be said.
"""
from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

METHODS = Path(__file__).resolve().parents[1] / "methods"
FACTORIES = {"tensor", "as_tensor", "scalar_tensor", "full", "zeros", "ones", "empty", "arange", "linspace", "logspace",
             "eye", "rand", "randn", "randint"}
CLAMPS = {"clamp", "clamp_", "clip", "clip_", "clamp_min", "clamp_max", "clamp_min_", "clamp_max_"}
NON_VALUE_KWARGS = {"dtype", "requires_grad", "pin_memory", "layout"}


def _is_factory(node: ast.AST) -> bool:
    """``torch.<factory>(...)`` without a ``device=`` keyword."""
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in FACTORIES
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "torch"
            and not any(k.arg == "device" for k in node.keywords))


def _constant_like(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Name):
        return node.id.isupper()
    if isinstance(node, ast.UnaryOp):
        return _constant_like(node.operand)
    if isinstance(node, ast.BinOp):
        return _constant_like(node.left) and _constant_like(node.right)
    if isinstance(node, (ast.Tuple, ast.List)):
        return all(_constant_like(e) for e in node.elts)
    return False


def _has_deviceless_factory(node: ast.AST, tainted: set[str]) -> bool:
    return any(_is_factory(n) or (isinstance(n, ast.Name) and n.id in tainted) for n in ast.walk(node))


def _bounds(call: ast.Call) -> list[ast.AST]:
    func = call.func
    if not (isinstance(func, ast.Attribute) and func.attr in CLAMPS):
        return []
    is_torch_fn = isinstance(func.value, ast.Name) and func.value.id == "torch"
    positional = call.args[1:] if is_torch_fn else call.args  # torch.clamp(x, lo, hi) vs x.clamp(lo, hi)
    return list(positional) + [k.value for k in call.keywords if k.arg in ("min", "max")]


def violations(source: str, filename: str = "<source>") -> list[str]:
    tree = ast.parse(source)
    found = []
    scopes = [tree] + [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))]
    for scope in scopes:
        tainted: set[str] = set()  # names assigned from a device-less tensor factory in this scope
        for node in ast.walk(scope):
            if isinstance(node, ast.Assign) and _has_deviceless_factory(node.value, tainted):
                tainted.update(t.id for t in node.targets if isinstance(t, ast.Name))
        for node in ast.walk(scope):
            if isinstance(node, ast.Call):
                for bound in _bounds(node):
                    if _has_deviceless_factory(bound, tainted):
                        found.append(f"{filename}:{node.lineno}: clamp bound {ast.unparse(bound)!r} is a tensor made "
                                     "without device= (use a Python number or a tensor on the input's device)")
    for node in ast.walk(tree):
        if _is_factory(node):
            values = list(node.args) + [k.value for k in node.keywords if k.arg not in NON_VALUE_KWARGS]
            if all(_constant_like(v) for v in values):
                found.append(f"{filename}:{node.lineno}: tensor constant {ast.unparse(node)!r} without device=")
    return sorted(set(found))


def test_methods_hold_no_device_less_tensor_constant_or_bound():
    files = sorted(METHODS.glob("*.py"))
    assert len(files) > 5
    found = [v for f in files for v in violations(f.read_text(), f"methods/{f.name}")]
    assert not found, "\n".join(found)


# The check itself, on what the code held before issue 21 and on what it allows.
@pytest.mark.parametrize("source", [
    "def f(logq):\n    return logq.clamp(min=torch.log(torch.tensor(PROB_FLOOR, dtype=logq.dtype)))",  # losses.py before
    "def f(a, b):\n    log_clip = torch.log(torch.tensor(ADVANTAGE_FLOOR))\n    return a.clamp(min=log_clip) - b",  # topk.py before
    "def f(x, n):\n    return torch.clamp(x, torch.full((1,), n), None)",
    "def f(x):\n    return x.clip(max=torch.zeros(()) + 1)",
    "EPS = torch.tensor(1e-6)",
])
def test_the_check_finds_the_old_bounds(source):
    assert violations(textwrap.dedent(source))


@pytest.mark.parametrize("source", [
    "def f(logq):\n    return logq.clamp(min=LOG_PROB_FLOOR).clamp(max=math.log(2.0))",
    "def f(x, clip):\n    return x.clamp(min=clip[0], max=clip[1]).clamp(min=1.0)",
    "def f(x):\n    return x.clamp(min=torch.tensor(1e-7, device=x.device).log())",
    "def f(rows, n):\n    return torch.full((rows, n), PAD, dtype=torch.long)",  # data built on the CPU, moved with its batch
    "EMPTY = torch.zeros(0, device='cpu')",
])
def test_the_check_allows_numbers_and_placed_tensors(source):
    assert not violations(source)
