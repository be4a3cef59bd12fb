"""PDF documents (payment vouchers, statements) from Django templates, through WeasyPrint.

    pdf = render_pdf(template="payments/voucher.html", context={...}, language="zh-hans")

Templates extend `pdf/base.html` (A4, header, footer with page numbers, a
table style). Its CSS names a CJK font first ("Noto Sans CJK SC", from the
fonts-noto-cjk package): without one, Chinese text comes out as empty
boxes. Rendering is CPU-bound (tens of milliseconds a page): call it from a
task or a download view, not inside a payment's transaction.
"""

from __future__ import annotations

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation


def render_pdf(*, template: str, context: dict, language: str = "en") -> bytes:
    """Render `template` to HTML in `language`, then to PDF bytes."""
    # Imported here: WeasyPrint loads Pango and fonts, which web requests that never print should not pay for.
    from weasyprint import HTML

    with translation.override(language):
        html = render_to_string(template, context)
    # base_url resolves relative links (images, stylesheets) against the project, never the network.
    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()
