"""Module zips as ``go mod`` would make them, for the tests."""

from __future__ import annotations

import io
import zipfile


def module_zip(module: str, version: str, files: dict[str, str]) -> bytes:
    """A zip holding *files* under ``{module}@{version}/``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(f"{module}@{version}/{name}", text)
    return buffer.getvalue()


def greeter(module: str, version: str, greeting: str = "hello") -> bytes:
    """A module with go.mod, a LICENSE and package ``greet`` whose Hello() returns *greeting*."""
    source = f'package greet\n\n// Hello greets.\nfunc Hello() string {{ return "{greeting}" }}\n'
    return module_zip(
        module,
        version,
        {"go.mod": f"module {module}\n\ngo 1.19\n", "LICENSE": "MIT\n", "greet/greet.go": source},
    )
