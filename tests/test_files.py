"""The one reader and writer: every hostile file is one InputError, every output whole or absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmsize.errors import InputError, printable
from llmsize.files import (
    MAX_DEPTH,
    atomic_path,
    check_output,
    csv_rows,
    load_json,
    load_yaml,
    read_text,
    write_output,
)
from tests.conftest import LLAMA_3_8B_CONFIG

ALIAS_BOMB = "\n".join(
    ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]" for i in range(6)]
)


def test_alias_bomb_is_refused_at_once() -> None:
    assert len(ALIAS_BOMB) < 400  # expands to 10^7 leaves with aliases allowed
    with pytest.raises(InputError, match="aliases") as refused:
        load_yaml(ALIAS_BOMB, "bomb.yaml")
    assert len(str(refused.value)) < 200  # the message does not repeat the expansion


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("a: 1\na: 2\n", "duplicate key 'a' at line 2"),
        ("a: " + "9" * 5000 + "\n", "an integer of 5000 digits"),
        ("[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5), "nested deeper"),
        ("a: [1, 2\n", "not valid YAML at line"),
        ("{? [1]: 2}\n", "plain value"),
    ],
)
def test_yaml_refusals(text: str, fragment: str) -> None:
    with pytest.raises(InputError, match=fragment.replace("[", r"\[")):
        load_yaml(text, "u.yaml")


def test_yaml_keeps_ordinary_documents() -> None:
    assert load_yaml("a: 1\nb: [x, {c: 2.5}]\n", "u.yaml") == {"a": 1, "b": ["x", {"c": 2.5}]}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('{"a": 1, "a": 2}', "duplicate key"),
        ("[NaN]", "NaN"),
        ('{"x": Infinity}', "Infinity"),
        ("1" + "0" * 5000, "digits"),
        ("[" * 100_000 + "]" * 100_000, "nested deeper"),
        ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "nested deeper"),
        ("{not json", "not JSON"),
    ],
)
def test_json_refusals(text: str, fragment: str) -> None:
    with pytest.raises(InputError, match=fragment):
        load_json(text, "r.json")


def test_text_encodings(tmp_path: Path) -> None:
    path = tmp_path / "u.yaml"
    path.write_bytes(b"\xef\xbb\xbfa: 1\n")  # a UTF-8 BOM is accepted
    assert read_text(path, "use case") == "a: 1\n"
    path.write_bytes("a: 1\n".encode("utf-16"))
    with pytest.raises(InputError, match="UTF-16"):
        read_text(path, "use case")
    path.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(InputError, match=r"not UTF-8 text .byte 0xe9 on line 1"):
        read_text(path, "use case")
    path.write_bytes(b"a\x00b")
    with pytest.raises(InputError, match="NUL"):
        read_text(path, "use case")


def test_only_regular_files_within_their_size(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a regular file"):
        read_text("/dev/zero", "use case")
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a regular file"):
        read_text(fifo, "use case")  # would block forever if opened
    with pytest.raises(InputError, match="is a directory"):
        read_text(tmp_path, "use case")
    big = tmp_path / "big.yaml"
    with big.open("wb") as handle:
        handle.truncate(200 * 1024 * 1024)  # sparse: 200 MB without writing them
    with pytest.raises(InputError, match=r"may be at most 1.0 MiB"):
        read_text(big, "use case")  # refused from its size, before a byte is read
    with pytest.raises(InputError, match="does not exist"):
        read_text(tmp_path / "none.yaml", "use case")


def test_csv_field_limit_names_the_line() -> None:
    wide = "a,b\n1,2\n3," + "x" * 200_000 + "\n"
    assert [n for n, _ in csv_rows(wide, "c.csv")] == [1, 2, 3]  # 200 KB is a real notes field
    huge = "a,b\n1," + "x" * (2 << 20) + "\n"
    with pytest.raises(InputError, match=r"c.csv:2: not valid CSV"):
        list(csv_rows(huge, "c.csv"))


def test_write_is_whole_or_absent(tmp_path: Path) -> None:
    out = tmp_path / "o.txt"
    write_output(out, "first")
    with pytest.raises(InputError, match="exists; add --force"):
        write_output(out, "second")
    assert out.read_text() == "first"
    write_output(out, "second", force=True)
    assert out.read_text() == "second"
    with pytest.raises(RuntimeError), atomic_path(out) as temporary:
        temporary.write_text("half")
        raise RuntimeError("the writer failed half-way")
    assert out.read_text() == "second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.txt"]  # no temporary left behind


def test_outputs_never_destroy_inputs_or_follow_links(tmp_path: Path) -> None:
    data = tmp_path / "x.csv"
    data.write_text("keep")
    with pytest.raises(InputError, match="one of this command's inputs"):
        check_output(data, force=True, inputs=[data])
    link = tmp_path / "link.txt"
    link.symlink_to(data)
    with pytest.raises(InputError, match="symbolic link"):
        write_output(link, "x", force=True)
    assert data.read_text() == "keep"
    with pytest.raises(InputError, match=r"must end in one of .png"):
        check_output(tmp_path / "plot.md", suffixes=(".png", ".svg", ".pdf"))
    with pytest.raises(InputError, match="does not exist"):
        check_output(tmp_path / "missing" / "o.txt")


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc (Linux)")
def test_a_folder_no_file_can_be_created_in_is_refused_before_any_work(tmp_path: Path) -> None:
    """/proc is a folder the permission bits call writable for root, yet no file can be made in
    it: the output is refused up front (bench would have found out after its whole run)."""
    with pytest.raises(InputError, match="cannot write in /proc"):
        check_output(Path("/proc/llmsize-out.csv"))
    assert check_output(tmp_path / "fine.csv") == tmp_path / "fine.csv"
    assert list(tmp_path.iterdir()) == []  # the probe leaves nothing behind


def test_printable_shows_control_characters() -> None:
    assert printable("a\x1b[31mred\x07") == "a\\x1b[31mred\\x07"
    assert printable("line\nnext\ttab") == "line\nnext\ttab"
    assert "\x1b" not in str(InputError("name\x1b]0;x\x07", "bad\x1b[2J"))


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_are_text_or_one_error(data: bytes) -> None:
    from llmsize.files import decode_text

    try:
        text = decode_text(data, "f")
    except InputError as exc:
        assert "\n" not in str(exc)
        return
    for parse in (load_yaml, load_json):
        try:
            parse(text, "f")
        except InputError as exc:
            assert "\n" not in str(exc)
    try:
        list(csv_rows(text, "f"))
    except InputError as exc:
        assert "\n" not in str(exc)


YAMLISH = st.recursive(
    st.one_of(
        st.sampled_from(
            ["1", "true", ".inf", ".nan", "'x'", "*a", "&a 1", "9" * 40, "{", "]", ":", "- -"]
        ),
        st.text(alphabet="abc:- []{}&*!|>'\"#%@`\n\t0123456789.", max_size=12),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]"),
        st.lists(st.tuples(st.sampled_from("abc"), inner), max_size=4).map(
            lambda kvs: "{" + ", ".join(f"{k}: {v}" for k, v in kvs) + "}"
        ),
        st.lists(st.tuples(st.sampled_from("abc"), inner), max_size=4).map(
            lambda kvs: "\n".join(f"{k}: {v}" for k, v in kvs)
        ),
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(YAMLISH)
def test_malformed_yaml_is_data_or_one_error(text: str) -> None:
    try:
        load_yaml(text, "u.yaml")
    except InputError as exc:
        assert "\n" not in str(exc)


def _readers(tmp: Path) -> list[tuple[str, object]]:
    """Every reader of a user file, as (suffix, call on a path)."""
    from llmsize.bench.records_file import read_runs
    from llmsize.benchdb.importers import MeasuredOn, import_file
    from llmsize.benchdb.schema import read_curve_file
    from llmsize.catalog import load_catalog
    from llmsize.catalog.hf_config import arch_from_config_file
    from llmsize.perf.calibration import load_calibration
    from llmsize.usecase import load_usecase, resolve
    from llmsize.workload import read_trace

    def usecase(path: Path) -> object:
        return resolve(load_usecase(path), load_catalog(), path.parent)

    return [
        (".yaml", usecase),
        (".yaml", load_calibration),
        (".json", lambda p: arch_from_config_file(p, "--model")),
        (".json", lambda p: import_file(p, MeasuredOn(None, "h100-sxm", 1, "bf16"))),
        (".jsonl", read_runs),
        (".csv", read_curve_file),
        (".csv", read_trace),
        (".jsonl", read_trace),
    ]


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=16,
)


@settings(max_examples=60, deadline=None)
@given(
    yaml_text=YAMLISH,
    json_value=JSONISH,
    csv_text=st.text(alphabet='a,b"\n\r0123456789.-enaif ', max_size=200),
    raw=st.binary(max_size=200),
)
def test_every_reader_gives_data_or_one_line(
    yaml_text: str, json_value: object, csv_text: str, raw: bytes
) -> None:
    """Generated malformed YAML, JSON, JSONL and CSV (and raw bytes) fed to each reader of a
    user file: it answers or raises one InputError line, never anything else."""
    import json
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        tmp = Path(scratch)
        contents = {
            ".yaml": [yaml_text, raw],
            ".json": [json.dumps(json_value, allow_nan=True), raw],
            ".jsonl": [json.dumps(json_value, allow_nan=True) + "\n", raw],
            ".csv": [csv_text, "arrival_s,input_tokens,output_tokens\n" + csv_text, raw],
        }
        for suffix, read in _readers(tmp):
            for i, content in enumerate(contents[suffix]):
                path = tmp / f"f{i}{suffix}"
                if isinstance(content, bytes):
                    path.write_bytes(content)
                else:
                    path.write_text(str(content), encoding="utf-8")
                try:
                    read(path)  # type: ignore[operator]
                except InputError as exc:
                    assert "\n" not in str(exc), str(exc)


DATA = Path(__file__).resolve().parent / "data"
ROOT = Path(__file__).resolve().parent.parent


def _leaves(value: object, path: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _leaves(v, (*path, k))] or [path]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _leaves(v, (*path, i))] or [path]
    return [path]


def _replace(value: object, path: tuple[object, ...], new: object) -> object:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {k: (_replace(v, rest, new) if k == head else v) for k, v in value.items()}
    assert isinstance(value, list)
    return [_replace(v, rest, new) if i == head else v for i, v in enumerate(value)]


def _templates() -> list[tuple[str, object, str]]:
    """Real documents of each structured kind: a leaf of one is replaced by generated junk."""
    import json

    import yaml

    calibration = yaml.safe_load((ROOT / "src/llmsize/data/calibration.yaml").read_text())
    calibration["groups"] = calibration["groups"][:2]
    usecase = yaml.safe_load((ROOT / "examples/usecases/seed-nemo-43b.yaml").read_text())
    record = json.loads((DATA / "llmsize_bench/results.jsonl").read_text().splitlines()[0])
    guidellm = json.loads((DATA / "guidellm/benchmarks.json").read_text())
    config = dict(LLAMA_3_8B_CONFIG)
    return [
        (".yaml", calibration, "calibration"),
        (".yaml", usecase, "usecase"),
        (".jsonl", record, "records"),
        (".json", guidellm, "import"),
        (".json", config, "config"),
    ]


TEMPLATES = _templates()


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(range(len(TEMPLATES))), st.data(), JSONISH)
def test_a_wrong_value_anywhere_is_one_line(which: int, data: st.DataObject, junk: object) -> None:
    """Type confusion deep inside a real document (a list where a number was, a string for a
    mapping, NaN, ...) is an answer or one InputError line in every reader."""
    import json
    import tempfile

    import yaml

    suffix, template, kind = TEMPLATES[which]
    path = data.draw(st.sampled_from(_leaves(template)))
    document = _replace(template, path, junk)
    readers = {"usecase": 0, "calibration": 1, "config": 2, "import": 3, "records": 4}
    with tempfile.TemporaryDirectory() as scratch:
        target = Path(scratch) / f"doc{suffix}"
        if suffix == ".yaml":
            target.write_text(yaml.safe_dump(document))
        else:
            target.write_text(json.dumps(document) + ("\n" if suffix == ".jsonl" else ""))
        read = _readers(Path(scratch))[readers[kind]][1]
        try:
            read(target)  # type: ignore[operator]
        except InputError as exc:
            assert "\n" not in str(exc), str(exc)
