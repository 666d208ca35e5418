"""The benchmark's data: real packages fetched at bench time, plus generated ones.

Real: a Python dependency set (``pip download`` of wheels for CPython 3.11 on
manylinux, with dependencies) and express 4 with its dependency tree (resolved
into a lockfile by ``npm install --package-lock-only``, then ``npm pack`` of
every package in it).  Generated: tiny but valid wheels and npm tarballs, built
deterministically so a second run finds them in the cache, and one large file of
random bytes.  Everything lives under ``bench/work/cache``.
"""

from __future__ import annotations

import base64
import dataclasses
import gzip
import hashlib
import io
import json
import os
import re
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

from bench.procs import MiB, client_environ, run

PYTHON_SET = ("requests", "flask", "django", "sqlalchemy", "pydantic", "boto3", "numpy")
PYTHON_SET_QUICK = ("requests", "flask")
NPM_ROOT = "express@4"
# Fixed timestamps make generated archives byte-identical from run to run.
_ZIP_DATE = (2024, 1, 1, 0, 0, 0)
_TAR_MTIME = 1_704_067_200
_WHEEL_TAGS = (
    "py3-none-any",
    "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64",
    "cp311-cp311-macosx_11_0_arm64",
    "cp311-cp311-win_amd64",
)


@dataclasses.dataclass(frozen=True)
class Sizes:
    """How much generated data a run uses (smaller in quick mode)."""

    many_files: int = 1000  # files of the one big PyPI project
    projects: int = 5000  # projects in the root index (one wheel each)
    npm_versions: int = 500  # versions of the big npm package
    publish_versions: int = 100  # versions published with the npm CLI (timed)
    big_file: int = 256 * MiB

    @classmethod
    def quick(cls) -> Sizes:
        return cls(
            many_files=100, projects=300, npm_versions=50, publish_versions=10, big_file=32 * MiB
        )


# -- real packages -----------------------------------------------------------------------


def python_set(cache: Path, quick: bool) -> list[Path]:
    """Wheels of the real Python set and their dependencies (downloaded once)."""
    names = PYTHON_SET_QUICK if quick else PYTHON_SET
    folder = cache / ("pypi-real-quick" if quick else "pypi-real")
    marker = folder / ".complete"
    if not marker.exists():
        folder.mkdir(parents=True, exist_ok=True)
        run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--dest",
                folder,
                "--only-binary=:all:",
                "--implementation",
                "cp",
                "--python-version",
                "3.11",
                "--abi",
                "cp311",
                "--platform",
                "manylinux_2_28_x86_64",
                *names,
            ],
            env=client_environ(),
            timeout=900,
        )
        marker.write_text("\n".join(names))
    return sorted(folder.glob("*.whl"))


def npm_tree(cache: Path) -> list[Path]:
    """Tarballs of express 4 and every package of its dependency tree (packed once)."""
    folder = cache / "npm-real"
    marker = folder / ".complete"
    if not marker.exists():
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="bench-npm-resolve-") as scratch:
            root = Path(scratch)
            (root / "package.json").write_text('{"name": "resolve", "private": true}')
            run(
                ["npm", "install", NPM_ROOT, "--package-lock-only", "--no-audit", "--no-fund"],
                cwd=root,
                timeout=300,
            )
            specs = lockfile_specs(json.loads((root / "package-lock.json").read_text()))
        run(
            ["npm", "pack", "--silent", "--pack-destination", folder, *specs],
            cwd=folder,
            timeout=600,
        )
        marker.write_text("\n".join(specs))
    return sorted(folder.glob("*.tgz"))


def without_license_files(wheel: Path, folder: Path) -> Path:
    """A copy of *wheel* whose METADATA has no ``License-File`` headers (RECORD updated).

    setuptools wrote License-File under Metadata-Version 2.1 for years and PyPI
    serves such wheels; a server that refuses them gets this copy instead.
    """
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / wheel.name
    with zipfile.ZipFile(wheel) as source, zipfile.ZipFile(target, "w") as out:
        names = source.namelist()
        metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
        header, _, body = source.read(metadata).partition(b"\n\n")
        kept = [ln for ln in header.split(b"\n") if not ln.lower().startswith(b"license-file:")]
        new_metadata = b"\n".join(kept) + b"\n\n" + body
        for info in source.infolist():
            data = source.read(info)
            if info.filename == metadata:
                data = new_metadata
            elif info.filename.endswith(".dist-info/RECORD"):
                line = f"{metadata},{_record_hash(new_metadata)},{len(new_metadata)}"
                data = b"\n".join(
                    line.encode() if row.startswith(f"{metadata},".encode()) else row
                    for row in data.split(b"\n")
                )
            out.writestr(info, data, compress_type=info.compress_type)
    return target


def lockfile_specs(lock: dict[str, object]) -> list[str]:
    """``name@version`` of every installed package in a v2/v3 package-lock."""
    packages = lock.get("packages")
    assert isinstance(packages, dict), "expected a lockfile v2 or v3"
    specs = set()
    for path, entry in packages.items():
        if not path or entry.get("link"):
            continue
        name = entry.get("name") or path.rsplit("node_modules/", 1)[-1]
        specs.add(f"{name}@{entry['version']}")
    return sorted(specs)


# -- generated wheels --------------------------------------------------------------------


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"sha256={digest.decode()}"


def wheel_bytes(name: str, version: str, tag: str) -> bytes:
    """A small valid wheel: one module, METADATA, WHEEL and RECORD."""
    dist = re.sub(r"[-_.]+", "_", name).lower()
    info = f"{dist}-{version}.dist-info"
    files = {
        f"{dist}/__init__.py": f'"""{name} {version}"""\nVERSION = "{version}"\n'.encode(),
        f"{info}/METADATA": (
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
            f"Summary: Generated package {name} for the benchmark\n"
            "Requires-Python: >=3.8\nLicense: Apache-2.0\n\nGenerated.\n"
        ).encode(),
        f"{info}/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: artifortress-bench\n"
            f"Root-Is-Purelib: {'true' if tag == 'py3-none-any' else 'false'}\nTag: {tag}\n"
        ).encode(),
    }
    record = "".join(f"{path},{_record_hash(data)},{len(data)}\n" for path, data in files.items())
    files[f"{info}/RECORD"] = (record + f"{info}/RECORD,,\n").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in files.items():
            archive.writestr(zipfile.ZipInfo(path, _ZIP_DATE), data)
    return out.getvalue()


def wheel_name(name: str, version: str, tag: str) -> str:
    return f"{re.sub(r'[-_.]+', '_', name).lower()}-{version}-{tag}.whl"


def _write_wheels(folder: Path, wanted: list[tuple[str, str, str]]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, version, tag in wanted:
        path = folder / wheel_name(name, version, tag)
        if not path.exists():
            path.write_bytes(wheel_bytes(name, version, tag))
        paths.append(path)
    return paths


def many_files_project(cache: Path, files: int) -> list[Path]:
    """``bench-many``: *files* wheels, four platform tags per version (like numpy's)."""
    versions = -(-files // len(_WHEEL_TAGS))
    wanted = [
        ("bench-many", f"1.{v // 100}.{v % 100}", tag)
        for v in range(versions)
        for tag in _WHEEL_TAGS
    ][:files]
    return _write_wheels(cache / "pypi-many", wanted)


def many_projects(cache: Path, projects: int) -> list[Path]:
    """``bench-proj-NNNN``: *projects* projects of one wheel each, for the root index."""
    wanted = [(f"bench-proj-{n:04d}", "1.0.0", "py3-none-any") for n in range(projects)]
    return _write_wheels(cache / "pypi-projects", wanted)


# -- generated npm tarballs --------------------------------------------------------------


def _npm_version(n: int) -> str:
    return f"{n // 100}.{(n // 10) % 10}.{n % 10}"


def npm_manifest(name: str, version: str) -> dict[str, object]:
    """A package.json of a typical size (a little over 1 KB)."""
    return {
        "name": name,
        "version": version,
        "description": f"Generated package {name} for the Artifortress benchmark",
        "main": "index.js",
        "keywords": ["benchmark", "generated", "artifortress", "registry"],
        "license": "MIT",
        "author": {"name": "Bench Author", "email": "bench@example.invalid"},
        "repository": {"type": "git", "url": "git+https://example.invalid/bench/repo.git"},
        "homepage": "https://example.invalid/bench",
        "bugs": {"url": "https://example.invalid/bench/issues"},
        "engines": {"node": ">=14"},
        "scripts": {"test": "node test.js", "lint": "eslint ."},
        "dependencies": {},
        "devDependencies": {"eslint": "^8.0.0", "mocha": "^10.0.0", "typescript": "^5.0.0"},
        "files": ["index.js", "README.md"],
    }


def npm_tarball(name: str, version: str) -> bytes:
    """A deterministic ``npm pack``-style tarball: package/{package.json,index.js,README.md}."""
    files = {
        "package/package.json": json.dumps(npm_manifest(name, version), indent=2).encode(),
        "package/index.js": f"module.exports = {{ version: {version!r} }};\n".encode(),
        "package/README.md": f"# {name}\n\nVersion {version}, generated.\n".encode(),
    }
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for path, data in files.items():
            member = tarfile.TarInfo(path)
            member.size, member.mtime, member.mode = len(data), _TAR_MTIME, 0o644
            archive.addfile(member, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


def npm_generated(cache: Path, name: str, versions: int) -> list[Path]:
    """Tarballs of *versions* versions of *name*, in publishing order."""
    folder = cache / f"npm-{name}"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(versions):
        version = _npm_version(n)
        path = folder / f"{name}-{version}.tgz"
        if not path.exists():
            path.write_bytes(npm_tarball(name, version))
        paths.append(path)
    return paths


def read_npm_manifest(tarball: Path) -> dict[str, object]:
    """The package.json inside a tarball (``package/package.json`` or the first one found)."""
    with tarfile.open(tarball, "r:gz") as archive:
        for member in archive.getmembers():
            parts = member.name.split("/")
            if len(parts) == 2 and parts[1] == "package.json" and member.isfile():
                extracted = archive.extractfile(member)
                assert extracted is not None
                loaded: dict[str, object] = json.loads(extracted.read())
                return loaded
    raise ValueError(f"{tarball} has no package.json")


# -- one large file ----------------------------------------------------------------------


def big_file(cache: Path, size: int) -> Path:
    """*size* random bytes (incompressible), written once."""
    path = cache / f"big-{size // MiB}m.bin"
    if not path.exists() or path.stat().st_size != size:
        partial = path.with_suffix(".partial")
        with partial.open("wb") as out:
            for _ in range(size // MiB):
                out.write(os.urandom(MiB))
        partial.rename(path)
    return path
