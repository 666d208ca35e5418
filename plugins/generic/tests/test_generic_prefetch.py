"""A list of paths into what `artifortress remote prefetch` fetches (generic)."""

from __future__ import annotations

from artifortress_generic.prefetch import paths


def test_one_path_per_line_without_blanks_or_comments():
    text = "# tools\ntool/1.0/tool.tgz\n\n  /tool/1.0/docs/readme.txt  \n"
    assert [item.path for item in paths(text)] == ["tool/1.0/tool.tgz", "tool/1.0/docs/readme.txt"]
