"""The templates hold nothing the Content-Security-Policy would block (and so break silently)."""

from __future__ import annotations

import re

import pytest

from artifortress.ui.templating import TEMPLATE_DIR

TEMPLATES = sorted(TEMPLATE_DIR.glob("*.html"))


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_no_inline_script_style_or_handler(path):
    text = path.read_text()
    assert not re.search(r"<script(?![^>]*\ssrc=)", text), "inline script"
    assert "<style" not in text
    assert not re.search(r"\sstyle=", text), "style attribute"
    assert not re.search(r"\son[a-z]+=", text), "event handler attribute"
    assert "javascript:" not in text
    assert not re.search(r"(src|href)=\"(https?:)?//", text), "a resource from another site"


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_every_form_that_posts_carries_the_csrf_token(path):
    text = path.read_text()
    for form in re.findall(r"<form[^>]*method=\"post\".*?</form>", text, re.S):
        assert 'name="csrf" value="{{ view.csrf }}"' in form, form[:200]
