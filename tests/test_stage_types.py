"""The stage boundaries are typed: no public function, method or field of the middle and of
the adapters' interfaces takes or returns ``Any`` or a bare ``object`` (mypy, run by
scripts/test.sh, checks that the types are right; this checks that they say something)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "daemon" / "moodshuffle"
BOUNDARIES = ["core/*.py", "decide/*.py", "estimate/*.py", "observations.py", "emotions.py", "act/player.py",
              "sense/*.py", "report/commands.py", "report/live.py", "library/table.py", "library/stage.py", "app.py"]
VAGUE = re.compile(r"\b(Any|object)\b")


def public_annotations(tree: ast.Module):
    """(name, annotation text) of every public function's parameters and return, and of every
    public class's annotated fields."""
    def visit(node: ast.AST, owner: str):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef) and not child.name.startswith("_"):
                yield from visit(child, child.name)
            elif isinstance(child, ast.FunctionDef) and (not child.name.startswith("_") or child.name == "__init__"):
                args = child.args
                for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
                    if arg.annotation is not None:
                        yield f"{owner}.{child.name}({arg.arg})", ast.unparse(arg.annotation)
                if child.returns is not None:
                    yield f"{owner}.{child.name} ->", ast.unparse(child.returns)
            elif (isinstance(child, ast.AnnAssign) and owner and isinstance(child.target, ast.Name)
                  and not child.target.id.startswith("_")):
                yield f"{owner}.{child.target.id}", ast.unparse(child.annotation)
    yield from visit(tree, "")


def test_no_any_or_object_at_the_stage_boundaries():
    files = sorted({f for pattern in BOUNDARIES for f in PACKAGE.glob(pattern)})
    assert len(files) >= 15
    vague = [f"{f.relative_to(PACKAGE)}: {name}: {text}" for f in files
             for name, text in public_annotations(ast.parse(f.read_text())) if VAGUE.search(text)]
    assert not vague, "\n".join(vague)
