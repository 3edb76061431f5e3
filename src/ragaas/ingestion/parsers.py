"""Turn uploaded bytes (txt, md, html, pdf, docx) into plain-text sections."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePath

import docx
import pypdf
from bs4 import BeautifulSoup
from bs4.element import NavigableString, PreformattedString, Tag
from docx.table import Table
from docx.text.paragraph import Paragraph

SUPPORTED_FORMATS = ("txt", "md", "html", "pdf", "docx")

_EXTENSIONS = {
    ".txt": "txt", ".text": "txt", ".md": "md", ".markdown": "md",
    ".html": "html", ".htm": "html", ".xhtml": "html", ".pdf": "pdf", ".docx": "docx",
}  # fmt: skip
_CONTENT_TYPES = {
    "text/plain": "txt", "text/markdown": "md", "text/x-markdown": "md", "text/html": "html",
    "application/xhtml+xml": "html", "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
}  # fmt: skip


@dataclass
class Section:
    """A run of text under one heading (or on one PDF page)."""

    text: str
    heading: str | None = None
    page: int | None = None


@dataclass
class ParsedDocument:
    """A document's title and its non-empty sections, in reading order."""

    title: str | None
    sections: list[Section] = field(default_factory=list)


class ParseError(Exception):
    """The file could not be read; the message is a human-readable reason."""


class UnsupportedFormat(ParseError):
    """The file is of a type we do not ingest."""


# --- format detection -------------------------------------------------------


def detect_format(filename: str | None, content_type: str | None, data: bytes) -> str:
    """Return one of SUPPORTED_FORMATS, trusting extension, then content type, then bytes."""
    suffix = PurePath(filename).suffix.lower() if filename else ""
    if suffix in _EXTENSIONS:
        return _EXTENSIONS[suffix]
    mime = (content_type or "").split(";")[0].strip().lower()
    if mime in _CONTENT_TYPES:
        return _CONTENT_TYPES[mime]
    sniffed = _sniff(data)
    if sniffed is None:
        described = " ".join(part for part in (suffix, mime) if part) or "binary data"
        supported = ", ".join(SUPPORTED_FORMATS)
        raise UnsupportedFormat(f"unsupported file type ({described}); supported: {supported}")
    return sniffed


def _sniff(data: bytes) -> str | None:
    if data.startswith(b"%PDF"):
        return "pdf"
    if data.startswith(b"PK"):
        return "docx" if _is_docx(data) else None
    head = data[:1024].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return "html"
    if b"\x00" in data:
        return None
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    return "txt"


def _is_docx(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "word/document.xml" in archive.namelist()
    except zipfile.BadZipFile:
        return False


# --- entry point ------------------------------------------------------------


def parse_document(filename: str | None, content_type: str | None, data: bytes) -> ParsedDocument:
    """Detect the format of `data` and extract its title and normalised sections."""
    parser = _PARSERS[detect_format(filename, content_type, data)]
    return _finalise(parser(data))


def _finalise(doc: ParsedDocument) -> ParsedDocument:
    sections = []
    for section in doc.sections:
        text = normalise_whitespace(section.text)
        if text:
            heading = normalise_whitespace(section.heading or "") or None
            sections.append(Section(text=text, heading=heading, page=section.page))
    if not sections:
        raise ParseError("the document contains no text")
    return ParsedDocument(title=normalise_whitespace(doc.title or "") or None, sections=sections)


_HSPACE = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def normalise_whitespace(text: str) -> str:
    """Collapse runs of spaces, strip lines and keep paragraph breaks as a single blank line."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    lines = (_HSPACE.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


# --- plain text and markdown ------------------------------------------------


def _decode_text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")  # also accepts plain UTF-8 without a BOM
    except UnicodeDecodeError:
        pass
    if b"\x00" in data:
        raise ParseError("the file is not valid text (it contains binary data)")
    # Latin-1 decodes any byte string, so it is the last resort for legacy 8-bit text.
    return data.decode("latin-1")


def _parse_txt(data: bytes) -> ParsedDocument:
    return ParsedDocument(title=None, sections=[Section(text=_decode_text(data))])


_ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")


def _parse_md(data: bytes) -> ParsedDocument:
    # Heading lines go into Section.heading, not the body; the same holds for html and docx.
    title: str | None = None
    sections = [Section(text="")]
    body: list[str] = []
    in_fence = False
    for line in _decode_text(data).splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence  # a "# comment" inside a code block is not a heading
        match = None if in_fence else _ATX_HEADING.match(line)
        if match is None:
            body.append(line)
            continue
        sections[-1].text = "\n".join(body)
        body = []
        heading = (match.group(2) or "").strip()
        sections.append(Section(text="", heading=heading))
        if title is None and len(match.group(1)) == 1 and heading:
            title = heading
    sections[-1].text = "\n".join(body)
    return ParsedDocument(title=title, sections=sections)


# --- html ---------------------------------------------------------------------

_DROP_TAGS = ["script", "style", "noscript", "template", "nav", "footer", "svg", "iframe"]
_SECTION_TAGS = {"h1", "h2", "h3"}
_BLOCK_TAGS = {
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption",
    "figure", "form", "h4", "h5", "h6", "header", "hr", "li", "main", "ol", "p", "pre",
    "section", "table", "td", "th", "tr", "ul",
}  # fmt: skip


class _HtmlSections:
    """Walks the DOM once, cutting sections at h1-h3 and paragraphs at block elements."""

    def __init__(self) -> None:
        self.sections = [Section(text="")]
        self._inline: list[str] = []

    def walk(self, node: Tag) -> None:
        for child in node.children:
            if isinstance(child, NavigableString):
                if not isinstance(child, PreformattedString):  # comments, doctype, CDATA
                    self._inline.append(str(child))
            elif isinstance(child, Tag):
                self._visit(child)

    def _visit(self, tag: Tag) -> None:
        if tag.name in _SECTION_TAGS:
            self.flush()
            self.sections.append(Section(text="", heading=tag.get_text(" ", strip=True)))
        elif tag.name in _BLOCK_TAGS:
            self.flush()
            self.walk(tag)
            self.flush()
        else:
            self.walk(tag)

    def flush(self) -> None:
        paragraph = " ".join("".join(self._inline).split())
        self._inline = []
        if paragraph:
            current = self.sections[-1]
            current.text = f"{current.text}\n\n{paragraph}" if current.text else paragraph


def _parse_html(data: bytes) -> ParsedDocument:
    soup = BeautifulSoup(data, "lxml")
    for tag in soup.find_all(_DROP_TAGS):
        tag.decompose()
    title_tag, h1 = soup.find("title"), soup.find("h1")
    title = title_tag.get_text(" ", strip=True) if title_tag else ""
    if not title and h1 is not None:
        title = h1.get_text(" ", strip=True)
    walker = _HtmlSections()
    body = soup.find("body")
    walker.walk(body if isinstance(body, Tag) else soup)
    walker.flush()
    return ParsedDocument(title=title or None, sections=walker.sections)


# --- pdf ----------------------------------------------------------------------


# Generators stamp these when the author set no title (reportlab writes "untitled").
_PLACEHOLDER_TITLES = {"untitled", "untitled document", "title"}


def _parse_pdf(data: bytes) -> ParsedDocument:
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        _unlock(reader)
        sections = [
            Section(text=page.extract_text() or "", page=number)
            for number, page in enumerate(reader.pages, start=1)
        ]
        title = reader.metadata.title if reader.metadata else None
    except ParseError:
        raise
    except Exception as exc:
        # pypdf raises many unrelated types (KeyError, ValueError, ...) on malformed input.
        raise ParseError(f"the PDF is corrupt or truncated: {_short(exc)}") from exc
    if not sections:
        raise ParseError("the PDF is corrupt or truncated: it has no pages")
    if not any(section.text.strip() for section in sections):
        raise ParseError("the PDF has no extractable text (is it a scanned image?)")
    if not isinstance(title, str) or title.strip().lower() in _PLACEHOLDER_TITLES:
        title = None
    return ParsedDocument(title=title, sections=sections)


def _unlock(reader: pypdf.PdfReader) -> None:
    if not reader.is_encrypted:
        return
    try:
        unlocked = reader.decrypt("") != pypdf.PasswordType.NOT_DECRYPTED
    except Exception as exc:  # e.g. AES without the optional crypto dependency
        raise ParseError(f"the PDF is encrypted and cannot be opened: {_short(exc)}") from exc
    if not unlocked:
        raise ParseError("the PDF is password-protected")


def _short(exc: Exception) -> str:
    detail = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


# --- docx ---------------------------------------------------------------------


def _parse_docx(data: bytes) -> ParsedDocument:
    try:
        document = docx.Document(io.BytesIO(data))
        title = (document.core_properties.title or "").strip() or None
        blocks = list(document.iter_inner_content())
    except Exception as exc:
        # python-docx surfaces BadZipFile, KeyError, lxml errors, ... for broken packages.
        raise ParseError(f"the DOCX file is corrupt or not a Word document: {_short(exc)}") from exc
    sections = [Section(text="")]
    for block in blocks:
        style = _heading_style(block)
        if style is not None and isinstance(block, Paragraph):
            sections.append(Section(text="", heading=block.text))
            if title is None and style in ("Title", "Heading 1") and block.text.strip():
                title = block.text.strip()
            continue
        text = _table_text(block) if isinstance(block, Table) else block.text
        sections[-1].text += f"\n\n{text}"
    return ParsedDocument(title=title, sections=sections)


def _heading_style(block: Paragraph | Table) -> str | None:
    if not isinstance(block, Paragraph) or block.style is None:
        return None
    name = block.style.name or ""
    return name if name == "Title" or name.startswith("Heading") else None


def _table_text(table: Table) -> str:
    rows = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = " ".join(cell.text.split())
            # Merged cells are reported once per grid column; keep one copy.
            if text and (not cells or cells[-1] != text):
                cells.append(text)
        if cells:
            rows.append(" | ".join(cells))
    return "\n".join(rows)


_PARSERS: dict[str, Callable[[bytes], ParsedDocument]] = {
    "txt": _parse_txt, "md": _parse_md, "html": _parse_html, "pdf": _parse_pdf, "docx": _parse_docx,
}  # fmt: skip
