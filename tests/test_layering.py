"""Imports point down the layers (ARCHITECTURE.md): the library never imports the CLI or Typer,
and `import llmsize` stays light."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "llmsize"

# A module may import the modules of its own layer and of layers to its right.
LAYERS = [
    {"cli"},
    {"api"},
    {"report"},
    {"search"},
    {"economics", "checks"},
    {"sim", "bench"},
    {"perf"},
    {"benchdb"},
    {"usecase", "workload", "checklist", "deployment"},
    {"catalog"},
    {"metrics", "units", "errors", "files", "limits", "user_catalogs", "cluster", "parallel"},
]


def _layer(module: str) -> int:
    top = module.split(".")[0]
    for index, names in enumerate(LAYERS):
        if top in names:
            return index
    return len(LAYERS)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("llmsize."):
            found.add(node.module.removeprefix("llmsize."))
        elif isinstance(node, ast.Import):
            found.update(
                a.name.removeprefix("llmsize.") for a in node.names if a.name.startswith("llmsize.")
            )
    return found


def test_imports_point_down() -> None:
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        module = ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        if module in {"__init__", "__main__"}:
            continue
        for target in _imports(path):
            if _layer(target) < _layer(module):
                wrong.append(f"{module} imports {target}")
    assert wrong == []


def test_library_never_imports_typer() -> None:
    for path in PACKAGE.rglob("*.py"):
        if "cli" in path.relative_to(PACKAGE).parts:
            continue
        assert "typer" not in path.read_text(), path


def test_import_llmsize_is_light() -> None:
    heavy = "('scipy', 'numpy', 'pydantic', 'rich')"
    code = f"import sys, llmsize; print(' '.join(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_a_steady_state_plan_does_not_load_the_twin() -> None:
    """The talk's static-batch case is never replayed: its plan, rendered as a table and as
    JSON, loads neither the simulator nor the disaggregated search (each costs start-up time)."""
    seed = Path(__file__).resolve().parents[1] / "examples" / "usecases" / "seed-nemo-43b.yaml"
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from llmsize.cli import app\n"
        "for extra in ([], ['--json']):\n"
        f"    r = CliRunner().invoke(app, ['plan', {str(seed)!r}, *extra])\n"
        "    assert r.exit_code == 0, r.output\n"
        "loaded = [m for m in sys.modules if m.startswith(('llmsize.sim', 'llmsize.search.d'))]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_questions_are_importable_from_the_top_level_package() -> None:
    """`import llmsize; llmsize.estimate(...)` works, and loads the library only when asked."""
    code = (
        "import sys, llmsize\n"
        "assert 'llmsize.api.questions' not in sys.modules\n"
        "r = llmsize.estimate('llama-3-8b', 'h100-sxm', 1, 8, 1000, 100)\n"
        "assert r.fits and r.ttft_ms > 0 and r.provenance == 'modelled'\n"
        "names = ('plan', 'estimate', 'configs', 'capacity', 'simulate', 'calibrate')\n"
        "assert all(callable(getattr(llmsize, n)) for n in names)\n"
        "c = llmsize.capacity('llama-3-8b', 'dgx-h100', 1000, 100)\n"
        "assert c.daily is not None and c.daily.requests_per_day > 0\n"
        "f = llmsize.configs('llama-3-8b', 'h100-sxm', 1000, 100)\n"
        "assert f.throughput_optimal is not None\n"
        "assert 'typer' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_renderers_only_render() -> None:
    """Costs and warnings are computed once, into the result; no renderer or command computes
    them again (it may name their types)."""
    computing = []
    for folder in ("report", "cli"):
        for path in (PACKAGE / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and node.module in (
                    "llmsize.economics",
                    "llmsize.checks",
                ):
                    names = [a.name for a in node.names if not a.name[:1].isupper()]
                    if names and folder == "report":
                        computing.append(f"{path.name} imports {', '.join(names)}")
                    if names and folder == "cli":
                        computing.append(f"cli/{path.name} imports {', '.join(names)}")
    assert computing == []
