"""The one reader and writer: every hostile file is one InputError, every output whole or absent."""

from __future__ import annotations

import os
import time
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

ALIAS_BOMB = "\n".join(
    ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]" for i in range(6)]
)


def test_alias_bomb_is_refused_at_once() -> None:
    assert len(ALIAS_BOMB) < 400  # expands to 10^7 leaves with aliases allowed
    started = time.perf_counter()
    with pytest.raises(InputError, match="aliases"):
        load_yaml(ALIAS_BOMB, "bomb.yaml")
    assert time.perf_counter() - started < 1.0


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
    started = time.perf_counter()
    with pytest.raises(InputError, match=r"may be at most 1.0 MiB"):
        read_text(big, "use case")
    assert time.perf_counter() - started < 1.0
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
