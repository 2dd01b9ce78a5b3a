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
