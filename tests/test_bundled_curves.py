"""The shipped curves are exactly what scripts/build_curves.py makes of shared/data (when that
folder is beside the checkout, as in CI), and every shipped row names its source."""

from __future__ import annotations

import csv
import importlib.util
import io
from importlib import resources
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data" / "measured-calibration.csv"


def _shipped() -> str:
    return resources.files("llmsize.data").joinpath("curves.csv").read_text(encoding="utf-8")


def test_every_row_names_its_source() -> None:
    rows = list(csv.DictReader(io.StringIO(_shipped())))
    assert rows and all(r["source_id"] and r["source"] and r["source_row"] for r in rows)


@pytest.mark.skipif(not SHARED.exists(), reason="shared/data is not beside this checkout")
def test_shipped_curves_are_regenerated_from_shared(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "build_curves", ROOT / "scripts" / "build_curves.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "curves.csv"
    assert module.main(["build_curves", str(SHARED), str(out)]) == 0
    assert out.read_text(encoding="utf-8") == _shipped(), "run: python scripts/build_curves.py"


def test_readme_accuracy_table_matches_the_shipped_calibration() -> None:
    """The per-GPU table in the README is the shipped calibration's cross-validated accuracy
    (regenerate both with scripts/calibrate_bundled.py)."""
    import yaml

    text = resources.files("llmsize.data").joinpath("calibration.yaml").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for gpu, v in yaml.safe_load(text)["accuracy"].items():
        cells = " | ".join(
            f"{v[m]:.1f} / {v[m + '_p90']:.1f}" for m in ("ttft", "itl", "throughput")
        )
        row = f"| {gpu} | {int(v['rows'])} | {cells} |"
        assert row in readme, row
