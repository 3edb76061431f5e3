"""Tests for ragaas.ingestion.parsers, with fixture files built in memory."""

import io
import zipfile

import docx
import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from ragaas.ingestion.parsers import (
    ParseError,
    UnsupportedFormat,
    detect_format,
    normalise_whitespace,
    parse_document,
)

PNG_HEADER = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10"


def make_pdf(pages: list[str], title: str | None = None, encrypt: str | None = None) -> bytes:
    """Build a PDF with one line of text per page."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, encrypt=encrypt)
    if title:
        pdf.setTitle(title)
    for text in pages:
        if text:
            pdf.drawString(72, 750, text)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def make_docx() -> bytes:
    """Build a DOCX with a title, two headings, body text and a table."""
    document = docx.Document()
    document.add_paragraph("Quarterly Report", style="Title")
    document.add_paragraph("Preamble under the title.")
    document.add_heading("Revenue", level=1)
    document.add_paragraph("Revenue grew   by 12 percent.")
    table = document.add_table(rows=2, cols=2)
    for row, values in zip(table.rows, [("Region", "Sales"), ("North", "42")], strict=True):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    document.add_heading("Costs", level=2)
    document.add_paragraph("Costs were flat.")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


# --- detect_format -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "content_type", "data", "expected"),
    [
        ("notes.TXT", None, b"hi", "txt"),
        ("readme.md", "text/plain", b"# hi", "md"),
        ("page.htm", None, b"", "html"),
        (None, "text/html; charset=utf-8", b"hello", "html"),
        (None, "application/pdf", b"", "pdf"),
        ("blob", "application/octet-stream", b"%PDF-1.7 ...", "pdf"),
        (None, None, b"  <!DOCTYPE html><html></html>", "html"),
        (None, None, "plain café text".encode(), "txt"),
        ("data.csv", None, b"a,b\n1,2\n", "txt"),
    ],
)
def test_detect_format(
    filename: str | None, content_type: str | None, data: bytes, expected: str
) -> None:
    assert detect_format(filename, content_type, data) == expected


def test_detect_format_sniffs_docx_from_zip_contents() -> None:
    assert detect_format(None, None, make_docx()) == "docx"


@pytest.mark.parametrize(
    ("filename", "content_type", "data"),
    [
        ("image.png", "image/png", PNG_HEADER),
        (None, None, PNG_HEADER),
        (None, None, bytes(range(256)) * 4),
        ("archive.zip", None, b"PK\x03\x04 not really a zip"),
    ],
)
def test_detect_format_rejects_unsupported(
    filename: str | None, content_type: str | None, data: bytes
) -> None:
    with pytest.raises(UnsupportedFormat, match="supported: txt, md, html, pdf, docx"):
        detect_format(filename, content_type, data)


def test_zip_that_is_not_docx_is_unsupported() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(UnsupportedFormat, match=r"\.zip"):
        parse_document("bundle.zip", None, buffer.getvalue())


def test_unsupported_format_names_the_type() -> None:
    with pytest.raises(UnsupportedFormat, match=r"\.png image/png"):
        parse_document("image.png", "image/png", PNG_HEADER)


# --- text and markdown ---------------------------------------------------------------------


def test_txt_is_one_section_with_normalised_whitespace() -> None:
    data = b"First   line\r\nsecond\tline\n\n\n\nNew  paragraph.  "
    doc = parse_document("a.txt", None, data)
    assert doc.title is None
    assert [s.text for s in doc.sections] == ["First line\nsecond line\n\nNew paragraph."]


def test_txt_decoding_fallbacks() -> None:
    with_bom = parse_document("a.txt", None, b"\xef\xbb\xbfhello")
    assert with_bom.sections[0].text == "hello"
    latin1 = parse_document("a.txt", None, "café".encode("latin-1"))
    assert latin1.sections[0].text == "café"
    with pytest.raises(ParseError, match="not valid text"):
        parse_document("a.txt", None, b"\xff\xfe\x00bad")


@pytest.mark.parametrize("data", [b"", b"   \n\n\t  "])
def test_empty_text_is_a_parse_error(data: bytes) -> None:
    with pytest.raises(ParseError, match="the document contains no text"):
        parse_document("empty.txt", "text/plain", data)


def test_markdown_splits_on_headings() -> None:
    data = b"""Intro text.

# Guide

Welcome.

## Install ##

Run it.

```python
# not a heading
```

### Empty

#### Usage
Use it.
"""
    doc = parse_document("guide.md", None, data)
    assert doc.title == "Guide"
    assert [(s.heading, s.text) for s in doc.sections] == [
        (None, "Intro text."),
        ("Guide", "Welcome."),
        ("Install", "Run it.\n\n```python\n# not a heading\n```"),
        ("Usage", "Use it."),
    ]


# --- html ----------------------------------------------------------------------------------


def test_html_drops_scripts_and_splits_on_headings() -> None:
    data = b"""<!doctype html><html><head><title>My Page</title>
<style>body { color: red }</style><script>var secret = "SCRIPT_TEXT";</script></head>
<body><nav>Home | About</nav>
<p>Lead   paragraph with <b>bold</b> words.</p>
<h1>First</h1><div><p>Para one.</p><ul><li>item a</li><li>item b</li></ul></div>
<h2>Second <small>part</small></h2><p>Para two.<script>alert("SCRIPT_TEXT")</script></p>
<h4>Minor</h4><p>Still second.</p><!-- a comment -->
<footer>Copyright FOOTER</footer></body></html>"""
    doc = parse_document("page.html", None, data)
    assert doc.title == "My Page"
    assert [(s.heading, s.text) for s in doc.sections] == [
        (None, "Lead paragraph with bold words."),
        ("First", "Para one.\n\nitem a\n\nitem b"),
        ("Second part", "Para two.\n\nMinor\n\nStill second."),
    ]
    everything = " ".join(s.text for s in doc.sections)
    for hidden in ("SCRIPT_TEXT", "color", "Home", "FOOTER", "a comment"):
        assert hidden not in everything


def test_html_title_falls_back_to_first_h1() -> None:
    doc = parse_document(None, "text/html", b"<html><body><h1>Heading</h1><p>x</p></body></html>")
    assert doc.title == "Heading"


# --- pdf -----------------------------------------------------------------------------------


def test_pdf_one_section_per_page() -> None:
    data = make_pdf(["Alpha text on page one.", "Beta text on page two."], title="Greek")
    doc = parse_document("doc.pdf", None, data)
    assert doc.title == "Greek"
    assert [(s.page, s.text) for s in doc.sections] == [
        (1, "Alpha text on page one."),
        (2, "Beta text on page two."),
    ]


def test_pdf_blank_page_is_dropped_and_numbering_kept() -> None:
    doc = parse_document("doc.pdf", None, make_pdf(["One.", "", "Three."]))
    assert doc.title is None  # reportlab's default "untitled" is not a title
    assert [s.page for s in doc.sections] == [1, 3]


def test_truncated_pdf_is_a_parse_error() -> None:
    data = make_pdf(["Alpha text on page one.", "Beta text on page two."])[:200]
    with pytest.raises(ParseError, match="the PDF is corrupt or truncated"):
        parse_document("doc.pdf", None, data)


def test_pdf_without_text_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match=r"no extractable text \(is it a scanned image\?\)"):
        parse_document("scan.pdf", None, make_pdf(["", ""]))


def test_pdf_with_user_password_is_a_parse_error() -> None:
    data = make_pdf(["Secret."], encrypt="hunter2")
    with pytest.raises(ParseError, match=r"PDF is (password-protected|encrypted)"):
        parse_document("locked.pdf", None, data)


# --- docx ----------------------------------------------------------------------------------


def test_docx_sections_title_and_tables() -> None:
    doc = parse_document("report.docx", None, make_docx())
    assert doc.title == "Quarterly Report"
    assert [(s.heading, s.text) for s in doc.sections] == [
        ("Quarterly Report", "Preamble under the title."),
        ("Revenue", "Revenue grew by 12 percent.\n\nRegion | Sales\nNorth | 42"),
        ("Costs", "Costs were flat."),
    ]


def test_docx_core_title_wins() -> None:
    document = docx.Document()
    document.core_properties.title = "Core Title"
    document.add_heading("Visible", level=1)
    document.add_paragraph("Body.")
    buffer = io.BytesIO()
    document.save(buffer)
    assert parse_document("a.docx", None, buffer.getvalue()).title == "Core Title"


@pytest.mark.parametrize("data", [b"PK\x03\x04 truncated", b"not a zip at all"])
def test_corrupt_docx_is_a_parse_error(data: bytes) -> None:
    with pytest.raises(ParseError, match="the DOCX file is corrupt"):
        parse_document("broken.docx", None, data)


def test_normalise_whitespace() -> None:
    assert normalise_whitespace("  a \t b\u00a0c \n\n\n\n d \r\n e ") == "a b c\n\nd\ne"
