"""Mapping files from text, for unit tests: loaded (no errors allowed) or their problems."""

from __future__ import annotations

from pathlib import Path

from osaccess.file.loader import load
from osaccess.model import MappingFile


def loaded(tmp_path: Path, text: str) -> MappingFile:
    path = tmp_path / "f.yaml"
    path.write_text(text)
    result = load(str(path))
    assert result.errors == [], [p.render() for p in result.errors]
    assert result.file is not None
    return result.file


def problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "f.yaml"
    path.write_text(text)
    return [p.render() for p in load(str(path)).errors]
