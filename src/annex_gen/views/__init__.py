"""Views: a document (annex or change notice) plus its language's fixed texts, in print order.

Every renderer reads one of these, so the PDF, the DOCX and the web page print the same
words in the same order. Values are plain strings; escaping is each renderer's job.
"""

from __future__ import annotations

from typing import Any

from annex_gen.views.page import PageView


def view_of(document: Any) -> PageView:
    """The view of an Annex or a Notice."""
    from annex_gen.model import Annex

    if isinstance(document, Annex):
        from annex_gen.views.annex import build_view

        return build_view(document)
    from annex_gen.views.notice import notice_view

    return notice_view(document)
