"""The image builds tillflow's wheel from this checkout's pyproject.toml and runs as uid 1000 (a
static check: no container engine here). The build stage's COPY lines are replayed into a scratch
directory, and setuptools finds there exactly the packages and package data it finds here."""

from __future__ import annotations

import fnmatch
import re
import shutil
import tomllib
from pathlib import Path

from setuptools import find_packages

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _stages() -> list[list[str]]:
    """The instructions of each stage (continuation lines joined)."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    stages: list[list[str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append([])
        stages[-1].append(line)
    return stages


def _copies(stage: list[str]) -> list[tuple[list[str], str]]:
    out = []
    for line in stage:
        parts = line.split()
        if parts[0].upper() == "COPY" and not parts[1].startswith("--from"):
            out.append((parts[1:-1], parts[-1]))
    return out


def _replay_build_context(dest: Path) -> None:
    for sources, target in _copies(_stages()[0]):
        for src in sources:
            path = ROOT / src
            to = dest / (src if target.endswith("/") or len(sources) > 1 else target)
            if target in ("./", "."):
                to = dest / Path(src).name
            if path.is_dir():
                shutil.copytree(path, to, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(path, to)


def _packages(where: Path) -> set[str]:
    include = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    return set(find_packages(where=str(where), include=include))


def test_two_stages_build_the_wheel_from_pyproject_and_install_only_it() -> None:
    build, runtime = _stages()
    assert any(line.startswith("COPY pyproject.toml") for line in build)
    assert any(re.match(r"RUN pip wheel .*--wheel-dir /wheels \.$", line) for line in build)
    assert any("COPY --from=build /wheels /wheels" in line for line in runtime)
    assert any("pip install --no-index --find-links /wheels tillflow" in line for line in runtime)
    # The image's Python is one the project supports.
    version = re.match(r"FROM python:(\d+)\.(\d+)", build[0])
    assert version and (int(version[1]), int(version[2])) >= (3, 11)
    assert PYPROJECT["project"]["requires-python"] == ">=3.11"


def test_the_build_context_holds_every_package_and_its_data(tmp_path: Path) -> None:
    _replay_build_context(tmp_path)
    assert (tmp_path / "pyproject.toml").read_bytes() == (ROOT / "pyproject.toml").read_bytes()
    assert _packages(tmp_path) == _packages(ROOT), "a package is missing from the Dockerfile"
    for package, globs in PYPROJECT["tool"]["setuptools"]["package-data"].items():
        for pattern in globs:
            here = sorted(p.name for p in (ROOT / package).glob(pattern) if p.is_file())
            there = sorted(p.name for p in (tmp_path / package).glob(pattern) if p.is_file())
            assert here and here == there, f"{package}/{pattern} is not in the image"


def test_dockerignore_keeps_secrets_out_and_the_sources_in() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#") and not line.startswith("!")
    ]
    for secret in (".env", "deploy/tills-ca", ".git", ".venv", "var"):
        assert secret in patterns, secret
    for sources, _ in _copies(_stages()[0]):
        for src in sources:
            assert not any(fnmatch.fnmatch(src, p) for p in patterns), f"{src} is ignored"


def test_the_image_runs_as_uid_1000_and_owns_what_it_writes() -> None:
    runtime = _stages()[1]
    users = [line for line in runtime if line.upper().startswith("USER ")]
    assert users and users[-1].split()[1].split(":")[0] in ("1000", "tillflow")
    assert any("--uid 1000" in line for line in runtime)
    chown = [line for line in runtime if "chown" in line]
    assert chown and "1000:1000 /app" in chown[0]
    assert runtime.index(chown[0]) < runtime.index(users[-1])
    assert "TILLFLOW_VAR_DIR=/app/var" in " ".join(runtime)
