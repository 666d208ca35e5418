"""Module zips as ``go mod`` would make them, for the tests."""

from __future__ import annotations

import io
import zipfile


def module_zip(module: str, version: str, files: dict[str, str]) -> bytes:
    """A zip holding *files* under ``{module}@{version}/``; the same bytes every time."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            # A fixed time (as the go command's zips have): no clock in the bytes.
            entry = zipfile.ZipInfo(f"{module}@{version}/{name}", date_time=(1980, 1, 1, 0, 0, 0))
            archive.writestr(entry, text, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def greeter(module: str, version: str, greeting: str = "hello") -> bytes:
    """A module with go.mod, a LICENSE and package ``greet`` whose Hello() returns *greeting*."""
    source = f'package greet\n\n// Hello greets.\nfunc Hello() string {{ return "{greeting}" }}\n'
    return module_zip(
        module,
        version,
        {"go.mod": f"module {module}\n\ngo 1.19\n", "LICENSE": "MIT\n", "greet/greet.go": source},
    )
