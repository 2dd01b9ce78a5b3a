"""The one reader and the one writer of every file llmsize touches.

Reading refuses what would hang, blow up or be misread: anything but a regular file, a file over
its kind's size limit, text that is not UTF-8 (a UTF-8 BOM is accepted), YAML aliases and
duplicate keys in user files, nesting deeper than a checklist could need, integers of absurd
length, and every parser's own exception — each becomes one `InputError` naming the file and the
line. Writing goes to a temporary file that is renamed into place, so an output is whole or absent;
never over an existing file without `force`, never over one of the command's inputs, never through
a symbolic link.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmsize.errors import InputError

MIB = 1 << 20

SIZE_LIMITS: dict[str, int] = {
    "use case": 1 * MIB,
    "catalog": 8 * MIB,
    "calibration": 8 * MIB,
    "config.json": 16 * MIB,
    "curve CSV": 64 * MIB,
    "trace": 256 * MIB,
    "results": 256 * MIB,
    "bench records": 512 * MIB,
    "tokenizer": 64 * MIB,
}
"""Largest file of each kind llmsize reads (bytes): generous for real files, finite for all."""

MAX_DEPTH = 64
"""Deepest nesting of mappings and lists accepted in a YAML or JSON document."""

MAX_INT_DIGITS = 30
"""Longest integer literal accepted: no real quantity has more digits than this."""

MAX_CSV_FIELD = 1 * MIB

PLOT_SUFFIXES = (".png", ".svg", ".pdf")


def _fail(path: Path | str, message: str) -> InputError:
    return InputError(str(path), message)


def read_bytes(path: Path | str, kind: str) -> bytes:
    """A regular file's bytes within its kind's size limit (never a FIFO, device or directory)."""
    path = Path(path)
    limit = SIZE_LIMITS[kind]
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise _fail(path, f"cannot read {kind} file: it does not exist") from None
    except OSError as exc:
        raise _fail(path, f"cannot read {kind} file: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise _fail(path, f"is a directory, not a {kind} file")
    if not stat.S_ISREG(info.st_mode):
        raise _fail(path, f"is not a regular file (a pipe or device); give a {kind} file")
    if info.st_size > limit:
        raise _fail(path, f"is {_size(info.st_size)}; a {kind} file may be at most {_size(limit)}")
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise _fail(path, f"cannot read {kind} file: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise _fail(path, f"is over {_size(limit)}, the limit for a {kind} file")
    return data


def _size(n: int) -> str:
    return f"{n / MIB:.1f} MiB" if n >= MIB else f"{n:,} bytes"


def decode_text(data: bytes, origin: Path | str) -> str:
    """UTF-8 text (a UTF-8 byte-order mark is dropped); other encodings are one clear error."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _fail(origin, "is UTF-16 text; save it as UTF-8")
    data = data.removeprefix(b"\xef\xbb\xbf")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        byte = data[exc.start]
        raise _fail(origin, f"is not UTF-8 text (byte 0x{byte:02x} on line {line})") from None
    if "\x00" in text:
        raise _fail(origin, "contains NUL bytes: not a text file")
    return text


def read_text(path: Path | str, kind: str) -> str:
    return decode_text(read_bytes(path, kind), path)


# --- YAML -----------------------------------------------------------------------------------


def _yaml_loader() -> type[Any]:
    """Safe YAML without aliases, duplicate keys, deep nesting or giant integers. The pure-Python
    loader, whose hooks run (the C one composes in C); user files are small."""
    import yaml

    class StrictLoader(yaml.SafeLoader):
        _depth = 0

        def _mark(self) -> Any:
            return self.peek_event().start_mark  # type: ignore[no-untyped-call]

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                raise _YamlRefusal(self._mark(), "aliases (*name) are not accepted")
            self._depth += 1
            try:
                if self._depth > MAX_DEPTH:
                    mark = self._mark()
                    raise _YamlRefusal(mark, f"nested deeper than {MAX_DEPTH} levels")
                return super().compose_node(parent, index)
            finally:
                self._depth -= 1

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            seen: set[Any] = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                try:
                    duplicate = key in seen
                except TypeError:
                    raise _YamlRefusal(key_node.start_mark, "a key must be a plain value") from None
                if duplicate:
                    raise _YamlRefusal(key_node.start_mark, f"duplicate key {_short(key)}")
                seen.add(key)
            return super().construct_mapping(node, deep=deep)

        def construct_yaml_int(self, node: Any) -> Any:
            digits = str(node.value).lstrip("+-").replace("_", "")
            if len(digits) > MAX_INT_DIGITS:
                raise _YamlRefusal(node.start_mark, f"an integer of {len(digits)} digits")
            return super().construct_yaml_int(node)

    StrictLoader.add_constructor("tag:yaml.org,2002:int", StrictLoader.construct_yaml_int)
    return StrictLoader


class _YamlRefusal(Exception):
    def __init__(self, mark: Any, message: str) -> None:
        super().__init__(message)
        self.mark = mark
        self.message = message


def _short(value: object, width: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def load_yaml(text: str, origin: Path | str) -> Any:
    """A YAML document under the strict rules above; any problem is one line with its position."""
    import yaml

    loader = None
    try:
        loader = _yaml_loader()(text)
        return loader.get_single_data()
    except _YamlRefusal as exc:
        raise _fail(origin, f"{exc.message}{_at(exc.mark)}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or getattr(exc, "reason", None) or "malformed"
        raise _fail(origin, f"not valid YAML{_at(mark)}: {problem}") from None
    except (ValueError, TypeError, RecursionError) as exc:
        raise _fail(origin, f"not valid YAML: {_short(str(exc), 80)}") from None
    finally:
        if loader is not None:
            loader.dispose()


def _at(mark: Any) -> str:
    return f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""


def read_yaml(path: Path | str, kind: str) -> Any:
    return load_yaml(read_text(path, kind), path)


# --- JSON -----------------------------------------------------------------------------------


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _JsonRefusal(f"duplicate key {_short(key)}")
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise _JsonRefusal(f"{name} is not a number JSON allows")


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _JsonRefusal(f"an integer of {len(text.lstrip('-'))} digits")
    return int(text)


class _JsonRefusal(Exception):
    pass


def load_json(text: str, origin: Path | str, *, non_finite: bool = False) -> Any:
    """A JSON document without duplicate keys, giant integers or deep nesting, and without NaN
    or Infinity unless the format uses them (`non_finite`: Hugging Face configs write
    `Infinity` for unbounded limits; whoever reads a number there checks it is finite)."""
    try:
        data = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_constant=float if non_finite else _no_constant,
            parse_int=_bounded_int,
        )
    except _JsonRefusal as exc:
        raise _fail(origin, f"not accepted JSON: {exc}") from None
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise _fail(origin, f"not JSON ({exc.msg} at {where})") from None
    except RecursionError:
        raise _fail(origin, f"not accepted JSON: nested deeper than {MAX_DEPTH} levels") from None
    if depth(data) > MAX_DEPTH:
        raise _fail(origin, f"not accepted JSON: nested deeper than {MAX_DEPTH} levels")
    return data


def read_json(path: Path | str, kind: str, *, non_finite: bool = False) -> Any:
    return load_json(read_text(path, kind), path, non_finite=non_finite)


def depth(value: Any) -> int:
    """How deeply lists and mappings nest (a scalar is 0), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Iterable[Any] = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level + 1)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest


def finite(value: object) -> bool:
    """A real number (not a boolean, NaN or infinity)."""
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


# --- CSV ------------------------------------------------------------------------------------


def csv_rows(text: str, origin: Path | str) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of each record; a malformed record or a field over 1 MiB is one
    error naming its line."""
    csv.field_size_limit(MAX_CSV_FIELD)
    reader = csv.reader(io.StringIO(text, newline=""))
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _fail(f"{origin}:{reader.line_num}", f"not valid CSV: {exc}") from None
        yield reader.line_num, row


# --- writing --------------------------------------------------------------------------------


def check_suffix(path: Path, suffixes: Sequence[str], where: str) -> None:
    """An output whose name must end in one of `suffixes` (none: any)."""
    if suffixes and path.suffix.lower() not in suffixes:
        raise InputError(where, f"{str(path)!r} must end in one of {', '.join(suffixes)}")


def check_output(
    path: Path | str,
    *,
    force: bool = False,
    inputs: Sequence[Path | str] = (),
    where: str = "--out",
    suffixes: Sequence[str] = (),
) -> Path:
    """Refuse, before any work is done, an output that would be lost or destroy data."""
    path = Path(path)
    check_suffix(path, suffixes, where)
    if path.is_symlink():
        raise InputError(where, f"{path} is a symbolic link; give the file's real path")
    if path.exists():
        if path.is_dir():
            raise InputError(where, f"{path} is a directory")
        for given in inputs:
            if Path(given).exists() and os.path.samefile(path, given):
                raise InputError(where, f"{path} is one of this command's inputs; choose another")
        if not force:
            raise InputError(where, f"{path} exists; add --force to replace it")
        if not stat.S_ISREG(path.stat().st_mode):
            raise InputError(where, f"{path} is not a regular file")
    parent = path.parent
    if not parent.is_dir():
        raise InputError(where, f"the folder {parent} does not exist")
    try:  # create a file beside it: a folder can look writable and not be (a read-only mount,
        # a full disk, a quota, or root, whom os.access never refuses)
        handle, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=parent)
    except OSError as exc:
        raise InputError(where, f"cannot write in {parent}: {exc.strerror or exc}") from None
    os.close(handle)
    os.unlink(name)
    return path


def write_output(
    path: Path | str,
    data: str | bytes,
    *,
    force: bool = False,
    inputs: Sequence[Path | str] = (),
    where: str = "--out",
    suffixes: Sequence[str] = (),
) -> Path:
    """Write a whole file or nothing: checked as above, written beside it, renamed into place."""
    path = check_output(path, force=force, inputs=inputs, where=where, suffixes=suffixes)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_path(path, where) as temporary:
        temporary.write_bytes(payload)
    return path


class atomic_path:
    """A temporary path beside `path`; on success it is renamed onto `path`, on failure removed.
    For writers that want a file name (matplotlib's savefig)."""

    def __init__(self, path: Path, where: str = "--out") -> None:
        self.path = path
        self.where = where
        self.temporary = path

    def __enter__(self) -> Path:
        try:
            handle, name = tempfile.mkstemp(
                prefix=f".{self.path.name}.", suffix=self.path.suffix, dir=self.path.parent
            )
        except OSError as exc:
            raise InputError(self.where, f"cannot write {self.path}: {exc.strerror}") from None
        os.close(handle)
        self.temporary = Path(name)
        return self.temporary

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        if kind is not None:
            self.temporary.unlink(missing_ok=True)
            if isinstance(exc, OSError):
                message = f"cannot write {self.path}: {exc.strerror or exc}"
                raise InputError(self.where, message) from None
            return
        try:
            mode = 0o666 & ~_umask()
            os.chmod(self.temporary, mode)
            os.replace(self.temporary, self.path)
        except OSError as exc:
            self.temporary.unlink(missing_ok=True)
            raise InputError(self.where, f"cannot write {self.path}: {exc.strerror}") from None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@dataclass(frozen=True, slots=True)
class FileCheck:
    """One checked file: what it was read as, and every problem found (none: valid)."""

    path: Path
    kind: str  # "usecase" or "curves"
    problems: list[str]
    summary: str
