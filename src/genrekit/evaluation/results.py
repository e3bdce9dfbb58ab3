"""``results.json``: what a reproduction measured, written by :mod:`.protocols`, read by :mod:`.report`.

This module is the one owner of the file: its schema (:func:`validate_results`), reading
(:func:`load_results`) and writing (:func:`write_results`). A reproduction directory holds::

    DIR/results.json    paper, title, citation, dataset, protocol, budget, deviations, command,
                        versions, genres, systems (accuracy per run, mean, std, CI, confusion, recall)

Deviations from the paper are structured: each is a :class:`Deviation`, its text (what a
person reads) and its kind (what code decides by), written as ``{"kind": "cut", "text":
"3 of the protocol's 10 runs"}``. The report flags a cut protocol by the kind ``cut``, never
by the wording of the text.

Files written before deviations had kinds hold plain strings; they still load: each string
becomes a deviation of kind ``cut`` if it has the wording that ``genrekit reproduce`` used
for cuts until then (``"N of the protocol's M runs"``, ``"... at most N ... epochs"``: the rule
the report applied to every file before), else of kind ``note``.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Callable, TypedDict, Union

from genrekit.errors import ConfigError
from genrekit.files import atomic_write_text

__all__ = ["RESULTS_FILE", "BUDGETS", "SYSTEM_KINDS", "DEVIATION_KINDS", "Deviation", "Results",
           "validate_results", "load_results", "write_results"]

#: The file a reproduction directory holds.
RESULTS_FILE = "results.json"
#: ``quick``: fewer runs and epochs than the paper; ``full``: the paper's protocol.
BUDGETS = ("quick", "full")
#: The kinds of system a reproduction compares.
SYSTEM_KINDS = ("network", "classical", "fusion")
#: The kinds of deviation from the paper: another split (``protocol``); fewer runs or epochs
#: than the protocol (``cut``, a quick budget included); only some of the paper's systems
#: (``subset``); other data than the paper's (``data``); a system that could not be run
#: (``skipped``); anything else (``note``).
DEVIATION_KINDS = ("protocol", "cut", "subset", "data", "skipped", "note")


class Deviation(str):
    """One way a reproduction departs from the paper: the text itself, with a :attr:`kind`.

    A deviation reads as its sentence wherever text is expected (the CLI's ``note:`` lines, the
    report's list), and code decides by its kind.

    Parameters
    ----------
    text : str
    kind : str
        One of :data:`DEVIATION_KINDS`.

    Examples
    --------
    >>> cut = Deviation("3 of the protocol's 10 runs", "cut")
    >>> cut.kind, cut.to_json()
    ('cut', {'kind': 'cut', 'text': "3 of the protocol's 10 runs"})
    """

    kind: str

    def __new__(cls, text: str, kind: str = "note") -> "Deviation":
        if kind not in DEVIATION_KINDS:
            raise ConfigError(f"a deviation's kind must be one of {', '.join(map(repr, DEVIATION_KINDS))}, "
                              f"got {kind!r}")
        self = super().__new__(cls, text)
        self.kind = kind
        return self

    def __repr__(self) -> str:
        return f"Deviation({str(self)!r}, {self.kind!r})"

    def __reduce__(self):
        return Deviation, (str(self), self.kind)

    def to_json(self) -> dict[str, str]:
        """``{"kind": ..., "text": ...}``, as ``results.json`` holds it."""
        return {"kind": self.kind, "text": str(self)}

    @classmethod
    def from_json(cls, value: str | dict) -> "Deviation":
        """A deviation from ``results.json``: an object with kind and text, or an older file's plain string."""
        if isinstance(value, dict):
            return cls(value["text"], value["kind"])
        return cls(value, _legacy_kind(value))


def _legacy_kind(text: str) -> str:
    # The wording genrekit reproduce used for cuts before deviations had kinds (frozen: those
    # files never change); the report applied exactly this rule to them.
    return "cut" if "of the protocol's" in text or ("at most" in text and "epochs" in text) else "note"


class Results(TypedDict):
    """The contents of ``results.json`` (see :func:`validate_results` for every key)."""

    paper: str
    title: str
    citation: str
    dataset: dict
    protocol: dict
    budget: str
    deviations: list[Deviation]
    command: str
    versions: dict
    genres: list[str]
    systems: list[dict]


Check = Callable[[Any], Union[str, None]]  # None if the value is good, else what it must be


def _real(value: Any) -> bool:
    # bool is an int subclass; True is never an accuracy.
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _text(value: Any) -> str | None:
    return None if isinstance(value, str) and value.strip() else "must be a non-empty string"


def _any_text(value: Any) -> str | None:
    return None if isinstance(value, str) else "must be a string"


def _mapping(value: Any) -> str | None:
    return None if isinstance(value, dict) else "must be an object"


def _fraction(value: Any) -> str | None:
    # Accuracies are fractions; a percentage (90.7) here would put the paper 100x off ours.
    return None if _real(value) and 0 <= value <= 1 else "must be a number from 0 to 1 (a fraction, not a percentage)"


def _non_negative(value: Any) -> str | None:
    return None if _real(value) and value >= 0 else "must be a number >= 0"


def _count(value: Any) -> str | None:
    return None if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else "must be an integer >= 0"


def _one_of(*options: str) -> Check:
    return lambda value: None if value in options else f"must be one of {', '.join(map(repr, options))}"


class _Validator:
    """Checks keys of nested objects and names the failing key by its path (``systems[1].accuracy.mean``)."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, where: str, problem: str, value: Any = ...) -> None:
        shown = "" if value is ... else f", got {_short(value)}"
        raise ConfigError(f"{self.source}: {where!r} {problem}{shown}")

    def field(self, container: dict, key: str, path: str, check: Check, *, required: bool = True,
              nullable: bool = False) -> Any:
        where = f"{path}.{key}" if path else key
        if key not in container:
            if required:
                self.fail(where, "is missing")
            return None
        value = container[key]
        if value is None:
            if nullable or not required:
                return None
            self.fail(where, "is null")
        problem = check(value)
        if problem:
            self.fail(where, problem, value)
        return value

    def items(self, container: dict, key: str, path: str, check: Check, *, length: int | None = None,
              nullable_items: bool = False, **options) -> list | None:
        """A list under ``key`` whose every element passes ``check``."""
        values = self.field(container, key, path, lambda v: None if isinstance(v, list) else "must be a list",
                            **options)
        if values is None:
            return None
        where = f"{path}.{key}" if path else key
        if length is not None and len(values) != length:
            self.fail(where, f"must have {length} entries (one per genre), has {len(values)}")
        for index, value in enumerate(values):
            if value is None and nullable_items:
                continue
            problem = check(value)
            if problem:
                self.fail(f"{where}[{index}]", problem, value)
        return values


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def validate_results(data: Any, source: str = RESULTS_FILE) -> None:
    """Check that ``data`` follows the ``results.json`` schema of ``genrekit reproduce``.

    Required: ``paper``, ``title``, ``citation``, ``command`` (strings); ``dataset`` (with
    ``name``); ``protocol`` (with ``name`` and ``split``); ``budget`` (``quick`` or ``full``);
    ``deviations`` (a list, may be empty, of ``{kind, text}`` objects, the kind one of
    :data:`DEVIATION_KINDS`; an older file's plain strings pass too); ``versions`` (object); ``genres``
    (distinct names); ``systems`` (a non-empty list). Each system needs ``name`` (distinct),
    ``model``, ``kind`` (``network``, ``classical`` or ``fusion``), ``accuracy`` with ``mean``
    and ``runs`` (fractions), ``confusion`` (genres x genres track counts, ``[true][predicted]``)
    and ``recall`` (one fraction or null per genre). ``paper_accuracy``, ``paper_note``,
    ``clip_accuracy``, ``valid_accuracy`` (accuracy on the split's validation tracks, e.g. the
    artist-filtered valid list), ``accuracy.std``, ``accuracy.ci95``, ``accuracy.ci_method`` and
    ``run_dirs`` may be null or absent.

    Parameters
    ----------
    data : object
        The parsed JSON.
    source : str
        What to call the data in error messages (the file's path).

    Raises
    ------
    genrekit.errors.ConfigError
        Naming the first missing or bad key by its path, e.g. ``'systems[1].accuracy.mean' is missing``.
    """
    check = _Validator(source)
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: must hold a JSON object, got {type(data).__name__}")
    for key in ("paper", "title", "citation", "command"):
        check.field(data, key, "", _text)
    dataset = check.field(data, "dataset", "", _mapping)
    check.field(dataset, "name", "dataset", _text)
    check.field(dataset, "tracks", "dataset", _count, required=False)
    for key in ("root", "description"):
        check.field(dataset, key, "dataset", _any_text, required=False)
    protocol = check.field(data, "protocol", "", _mapping)
    check.field(protocol, "name", "protocol", _text)
    check.field(protocol, "split", "protocol", _text)
    check.field(protocol, "runs", "protocol", _count, required=False)
    check.field(protocol, "description", "protocol", _any_text, required=False)
    check.field(data, "budget", "", _one_of(*BUDGETS))
    _validate_deviations(check, check.items(data, "deviations", "", _deviation))
    check.field(data, "versions", "", _mapping)
    genres = check.items(data, "genres", "", _text)
    if not genres:
        check.fail("genres", "must name at least one genre")
    if len(set(genres)) != len(genres):
        check.fail("genres", "must be distinct", genres)
    systems = check.items(data, "systems", "", _mapping)
    if not systems:
        check.fail("systems", "must hold at least one system")
    names = set()
    for index, system in enumerate(systems):
        _validate_system(check, system, f"systems[{index}]", len(genres))
        if system["name"] in names:
            check.fail(f"systems[{index}].name", "must be distinct from the other systems' names", system["name"])
        names.add(system["name"])


def _validate_system(check: _Validator, system: dict, path: str, n_genres: int) -> None:
    check.field(system, "name", path, _text)
    check.field(system, "model", path, _text)
    check.field(system, "kind", path, _one_of(*SYSTEM_KINDS))
    check.field(system, "paper_accuracy", path, _fraction, required=False)
    check.field(system, "paper_note", path, _any_text, required=False)
    accuracy = check.field(system, "accuracy", path, _mapping)
    _validate_summary(check, accuracy, f"{path}.accuracy")
    interval = check.items(accuracy, "ci95", f"{path}.accuracy", _fraction, required=False)
    if interval is not None and (len(interval) != 2 or interval[0] > interval[1]):
        check.fail(f"{path}.accuracy.ci95", "must be [low, high] with low <= high", interval)
    check.field(accuracy, "ci_method", f"{path}.accuracy", _any_text, required=False)
    clip = check.field(system, "clip_accuracy", path, _mapping, required=False)
    if clip is not None:
        _validate_summary(check, clip, f"{path}.clip_accuracy")
    valid = check.field(system, "valid_accuracy", path, _mapping, required=False)
    if valid is not None:
        _validate_summary(check, valid, f"{path}.valid_accuracy")
    rows = check.items(system, "confusion", path, lambda v: None if isinstance(v, list) else "must be a list",
                       length=n_genres)
    for row_index, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != n_genres:
            check.fail(f"{path}.confusion[{row_index}]", f"must be a list of {n_genres} counts (one per genre)", row)
        for column, value in enumerate(row):
            problem = _count(value)
            if problem:
                check.fail(f"{path}.confusion[{row_index}][{column}]", problem, value)
    check.items(system, "recall", path, _fraction, length=n_genres, nullable_items=True)
    check.items(system, "run_dirs", path, _text, required=False)


def _deviation(value: Any) -> str | None:
    # A plain string: a file written before deviations had kinds.
    return None if isinstance(value, (str, dict)) else "must be an object {kind, text} (or a string)"


def _validate_deviations(check: _Validator, deviations: list) -> None:
    for index, deviation in enumerate(deviations):
        if isinstance(deviation, dict):
            check.field(deviation, "kind", f"deviations[{index}]", _one_of(*DEVIATION_KINDS))
            check.field(deviation, "text", f"deviations[{index}]", _any_text)


def _validate_summary(check: _Validator, summary: dict, path: str) -> None:
    """``{mean, std, runs}`` of an accuracy over runs."""
    check.field(summary, "mean", path, _fraction)
    check.field(summary, "std", path, _non_negative, required=False)
    runs = check.items(summary, "runs", path, _fraction)
    if not runs:
        check.fail(f"{path}.runs", "must hold the accuracy of at least one run")


def load_results(results_dir: str | os.PathLike) -> Results:
    """Read and validate ``results.json`` of a reproduction directory (or the file itself).

    Returns
    -------
    Results
        The parsed file, every deviation a :class:`Deviation` (plain strings of older files
        too: see the module's notes).

    Raises
    ------
    genrekit.errors.ConfigError
        If the file is missing, is not JSON, or breaks the schema (:func:`validate_results`).
    """
    path = Path(results_dir)
    if path.is_dir() or path.name != RESULTS_FILE:
        path = path / RESULTS_FILE
    if not path.is_file():
        raise ConfigError(f"{path} not found: a reproduction directory holds the {RESULTS_FILE} that "
                          f"`genrekit reproduce` writes")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid JSON: {exc}") from None
    validate_results(data, source=str(path))
    data["deviations"] = [Deviation.from_json(value) for value in data["deviations"]]
    return data


def write_results(directory: str | os.PathLike, results: Results) -> Path:
    """Write ``DIR/results.json`` atomically, each deviation as ``{kind, text}``.

    Parameters
    ----------
    directory : str or path-like
        The reproduction directory (it must exist).
    results : Results
        Deviations may be :class:`Deviation` or plain strings (kind ``note``).

    Returns
    -------
    pathlib.Path
        The file written.
    """
    data = dict(results)
    data["deviations"] = [_as_deviation(value).to_json() for value in results["deviations"]]
    return atomic_write_text(Path(directory) / RESULTS_FILE, json.dumps(data, indent=2))


def _as_deviation(value: str) -> Deviation:
    return value if isinstance(value, Deviation) else Deviation(value, "note")
