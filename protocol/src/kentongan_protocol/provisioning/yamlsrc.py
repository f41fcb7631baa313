"""YAML reading that remembers the line of every key, so errors can point at it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """One mistake in a provisioning file: where it is and what is wrong."""

    file: str
    line: int
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.key or '(top)'}: {self.message}"


def dotted(path: KeyPath) -> str:
    return ".".join(str(p) for p in path)


@dataclass
class YamlDoc:
    """Plain data of a YAML file and the line (1-based) where each key path starts."""

    file: str
    data: object = None
    lines: dict[KeyPath, int] = field(default_factory=dict)

    def line_of(self, path: KeyPath) -> int:
        """Line of the deepest known prefix of `path`."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return 1

    def problem(self, path: KeyPath, message: str) -> Problem:
        return Problem(self.file, self.line_of(path), dotted(path), message)


class _Builder:
    def __init__(self, doc: YamlDoc, problems: list[Problem]) -> None:
        self.doc = doc
        self.problems = problems
        self.constructor = yaml.SafeLoader("")

    def build(self, node: yaml.Node, path: KeyPath) -> object:
        self.doc.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            self.constructor.flatten_mapping(node)
            out: dict[object, object] = {}
            for key_node, value_node in node.value:
                key = self.constructor.construct_object(key_node, deep=True)
                if not isinstance(key, str | int):
                    self.problems.append(self.doc.problem(path, f"key {key!r} is not a string"))
                    continue
                child = (*path, key)
                if key in out:
                    self.problems.append(
                        Problem(
                            self.doc.file,
                            key_node.start_mark.line + 1,
                            dotted(child),
                            "duplicate key (YAML would silently keep the last)",
                        )
                    )
                out[key] = self.build(value_node, child)
                self.doc.lines[child] = key_node.start_mark.line + 1
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self.constructor.construct_object(node, deep=True)


def _build(doc: YamlDoc, node: yaml.Node, problems: list[Problem]) -> Problem | None:
    """Build plain data into `doc`; a value that cannot be built is one problem."""
    try:
        doc.data = _Builder(doc, problems).build(node, ())
    except yaml.MarkedYAMLError as exc:
        # Found while building values: a bad merge (`<<: 5`), an unknown or Python tag.
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        return Problem(doc.file, line, "", f"YAML error: {exc.problem or exc}")
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
        # A tagged scalar that cannot be built, such as `!!timestamp 2020-13-45`.
        return Problem(doc.file, 1, "", f"YAML error: {exc}")
    return None


def read_yaml(path: Path, display: str | None = None) -> tuple[YamlDoc, list[Problem]]:
    """Read one YAML file; syntax errors and duplicate keys come back as problems."""
    doc = YamlDoc(display or str(path))
    problems: list[Problem] = []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return doc, [Problem(doc.file, 1, "", f"cannot read: {exc}")]
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        return doc, [Problem(doc.file, line, "", f"YAML syntax error: {exc.problem or exc}")]
    except yaml.YAMLError as exc:
        return doc, [Problem(doc.file, 1, "", f"YAML error: {exc}")]
    if node is None:
        return doc, [Problem(doc.file, 1, "", "file is empty")]
    built = _build(doc, node, problems)
    if built is not None:
        return doc, [built]
    return doc, problems


def validate_model(model: type[M], doc: YamlDoc) -> tuple[M | None, list[Problem]]:
    """Validate plain YAML data with a model, turning every pydantic error into a Problem."""
    try:
        return model.model_validate(doc.data), []
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                msg = "unknown key (check the spelling)"
            problems.append(doc.problem(loc, msg))
        return None, problems
