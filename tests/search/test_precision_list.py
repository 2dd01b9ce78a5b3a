"""`hardware.precision` as a list (issue 12): every listed precision is compared on every server
type, and the plan takes the best of them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmsize.api import plan
from tests.cli.helpers import assert_one_line_error, run
from tests.search.usecases import chat_70b


def _write(tmp_path: Path, precision: str) -> Path:
    path = tmp_path / "uc.yaml"
    path.write_text(chat_70b("[dgx-h100]", precision))
    return path


def test_a_list_compares_every_precision(tmp_path: Path) -> None:
    both = plan(_write(tmp_path, "[fp8, bf16]"))
    fp8 = plan(_write(tmp_path, "fp8"))
    bf16 = plan(_write(tmp_path, "bf16"))
    compared = {e.precision for e in both.plans[0].feasible}
    assert compared == {"fp8", "bf16"}
    assert len(both.plans[0].feasible) == len(fp8.plans[0].feasible) + len(bf16.plans[0].feasible)
    servers = [p.plans[0].servers for p in (fp8, bf16)]
    assert both.plans[0].servers == min(s for s in servers if s is not None)


def test_a_list_of_one_is_that_precision(tmp_path: Path) -> None:
    one = plan(_write(tmp_path, "[fp8]"))
    assert one.usecase.precision == "fp8" and one.usecase.precisions == ()


@pytest.mark.parametrize(("given", "fragment"), [("[]", "non-empty"), ("[fp8, fp5]", "")])
def test_a_bad_list_is_one_line(tmp_path: Path, given: str, fragment: str) -> None:
    assert_one_line_error(run("plan", str(_write(tmp_path, given))), "hardware.precision", fragment)


def test_the_plan_json_rows_carry_their_precision(tmp_path: Path) -> None:
    doc = json.loads(run("plan", str(_write(tmp_path, "[bf16, fp8]")), "--json").stdout)
    assert doc["recommendation"]["precision"] in ("fp8", "bf16")
