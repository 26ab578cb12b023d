"""The Jinja2 templates shared by every domain's pages, and the checks their forms share."""

from __future__ import annotations

import unicodedata
from pathlib import Path

from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape

from kiban.core.csrf import csrf_field

WEB_DIR = Path(__file__).parent
STATIC_DIR = WEB_DIR / "static"

templates = Jinja2Templates(
    env=Environment(
        loader=FileSystemLoader(WEB_DIR / "templates"),
        autoescape=select_autoescape(),
        trim_blocks=True,
        lstrip_blocks=True,
    )
)


def postal_code(digits: str) -> str:
    """``1000013`` as people write it: ``100-0013``."""
    return f"{digits[:3]}-{digits[3:]}" if len(digits) == 7 else digits


templates.env.filters["postal_code"] = postal_code
templates.env.globals["csrf_field"] = csrf_field


def _is_control(character: str) -> bool:
    return unicodedata.category(character) == "Cc"


def without_control_characters(text: str) -> str:
    """``text`` fit to show back in a page: HTML forbids control characters."""
    return "".join(character for character in text if not _is_control(character))


def search_text_error(text: str, max_length: int) -> str | None:
    """Why ``text`` cannot be searched for, in words for the person who typed it; None if it can.

    Control characters cannot be typed into a search box, so they mean a crafted URL: refusing
    them keeps them out of logs and pages.
    """
    if len(text) > max_length:
        return (
            f"{max_length}文字以内で入力してください。"
            f" / Enter no more than {max_length} characters."
        )
    if any(_is_control(character) for character in text):
        return "制御文字は使えません。 / Control characters cannot be used."
    return None
