"""Generate osaccess/plugin/operations.json: every operation of the OpenSearch REST API as
opensearch-py (generated from the OpenSearch API specification) calls it: its name, the HTTP
method(s), the path template(s), whether it takes a body, and its query parameters.

    pip install opensearch-py==3.2.0   # the version pinned in constraints.txt
    python scripts/operations_from_opensearch_py.py > osaccess/plugin/operations.json

It reads the client's source (ast), never imports it. A path segment from an argument that may
be left out (default None) is written ``{name?}``: the client leaves it out of the path.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

NAMESPACES = {"__init__.py": ""}  # the top-level client; others: the module's name


def main() -> None:
    spec = importlib.util.find_spec("opensearchpy")  # located, not imported
    if spec is None or spec.origin is None:
        sys.exit("opensearch-py is not installed: pip install opensearch-py==3.2.0")
    package = Path(spec.origin).parent
    client = package / "client"
    operations: list[dict[str, Any]] = []
    for path in sorted(client.glob("*.py")):
        if path.name in ("client.py", "utils.py", "_patch.py", "http.py"):  # http: raw requests
            continue
        namespace = NAMESPACES.get(path.name, path.stem)
        operations += _operations(ast.parse(path.read_text(encoding="utf-8")), namespace)
    document = {
        "source": f"opensearch-py {_version(package)}",
        "operations": sorted(operations, key=lambda o: o["name"]),
    }
    json.dump(document, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


def _version(package: Path) -> str:
    for node in ast.walk(ast.parse((package / "_version.py").read_text(encoding="utf-8"))):
        if isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.Constant):
            return str(node.value.value)
    return "unknown"


def _operations(tree: ast.Module, namespace: str) -> list[dict[str, Any]]:
    found = []
    for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
        for func in (n for n in cls.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)):
            if func.name.startswith("_"):
                continue
            calls = [
                n
                for n in ast.walk(func)
                if isinstance(n, ast.Call)
                and isinstance(n.func, ast.Attribute)
                and n.func.attr == "perform_request"
                and len(n.args) >= 2
            ]
            if not calls:
                continue
            optional = _optional_arguments(func)
            methods: set[str] = set()
            paths: set[str] = set()
            body = False
            local = _assigned(func)
            for call in calls:
                method, path = (
                    local.get(a.id, a) if isinstance(a, ast.Name) else a for a in call.args[:2]
                )
                methods |= _strings(method)
                paths |= _paths(path, optional)
                body = body or any(k.arg == "body" for k in call.keywords)
            found.append(
                {
                    "name": f"{namespace}.{func.name}" if namespace else func.name,
                    "methods": sorted(methods),
                    "paths": sorted(paths),
                    "body": body,
                    "params": _query_params(func),
                }
            )
    return found


def _optional_arguments(func: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """The arguments that default to None (positional or keyword-only)."""
    args = func.args.args
    pairs = list(zip(args[len(args) - len(func.args.defaults) :], func.args.defaults, strict=True))
    pairs += [(a, d) for a, d in zip(func.args.kwonlyargs, func.args.kw_defaults, strict=True) if d]
    return {a.arg for a, d in pairs if isinstance(d, ast.Constant) and d.value is None}


def _assigned(func: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, ast.expr]:
    """Local names the function assigns once (``path = _make_path(...)``)."""
    found: dict[str, ast.expr] = {}
    for node in ast.walk(func):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                found[target.id] = node.value
    return found


def _strings(node: ast.expr) -> set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _strings(node.body) | _strings(node.orelse)
    return set()


def _paths(node: ast.expr, optional: set[str]) -> set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value if node.value.startswith("/") else "/" + node.value}
    if isinstance(node, ast.IfExp):
        return _paths(node.body, optional) | _paths(node.orelse, optional)
    if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "_make_path":
        parts = []
        for arg in node.args:
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                parts.append(arg.value)
            elif isinstance(arg, ast.Name):
                parts.append("{" + arg.id + ("?" if arg.id in optional else "") + "}")
            else:
                parts.append("{?}")
        return {"/" + "/".join(parts)}
    return set()


def _query_params(func: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    for decorator in func.decorator_list:
        if isinstance(decorator, ast.Call) and getattr(decorator.func, "id", "") == "query_params":
            return sorted(
                a.value
                for a in decorator.args
                if isinstance(a, ast.Constant) and isinstance(a.value, str)
            )
    return []


if __name__ == "__main__":
    main()
