"""Build a second retrieval benchmark, in BEIR layout, from the manual pages installed here.

SciFact is long scientific claims against abstracts. This corpus is the other kind of search a
company's users do: short, plain-language questions against technical documentation. Each query is
a page's one-line NAME description ("list directory contents"); the page it describes is the one
relevant document, with that line removed from its text so that the query never occurs verbatim.
Every other sampled page is a distractor. Nothing here was tuned against: it exists to check that
choices made on SciFact generalise.

    .venv/bin/python benchmarks/build_manpages.py /tmp/manpages
    .venv/bin/ragaas eval beir /tmp/manpages --split test --mode all

The sample is deterministic for a given set of installed pages (sorted, then a seeded shuffle).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

SECTIONS = ("man1", "man5", "man7", "man8")
# The Google Cloud SDK ships ~16,000 near-identical pages; they would be most of any sample.
SKIP_PREFIXES = ("gcloud",)
OVERSTRIKE = re.compile(r".\x08")
HEADING = re.compile(r"^[A-Z][A-Z /-]+$")
NAME_LINE = re.compile(r"^\s*(?P<names>.+?)\s+(?:-|\\-|\u2014|\u2013)\s+(?P<what>.+)$")


@dataclass(frozen=True)
class Page:
    id: str
    names: str
    description: str
    text: str


def render(path: Path) -> str:
    """The page as plain text, without hyphenation or justification."""
    env = {**os.environ, "MANWIDTH": "100", "MAN_KEEP_FORMATTING": ""}
    out = subprocess.run(
        ["man", "--no-hyphenation", "--no-justification", "-l", "-P", "cat", str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    ).stdout
    return OVERSTRIKE.sub("", out)


def parse(page_id: str, rendered: str, max_words: int) -> Page | None:
    """Split a rendered page into its NAME line and the rest; None when it has no usable NAME."""
    lines = rendered.rstrip().splitlines()[1:-1]  # without the running header and footer
    sections: list[tuple[str, list[str]]] = []
    for line in lines:
        if HEADING.match(line):
            sections.append((line.strip(), []))
        elif sections:
            sections[-1][1].append(line)
    if not sections or sections[0][0] != "NAME":
        return None
    name_text = " ".join(" ".join(sections[0][1]).split())
    match = NAME_LINE.match(name_text)
    if match is None:
        return None
    body_lines = []
    for heading, content in sections[1:]:
        if heading in {"SEE ALSO", "AUTHOR", "AUTHORS", "COPYRIGHT", "REPORTING BUGS", "COLOPHON"}:
            continue
        body_lines.append(heading.title())
        body_lines.extend(line.strip() for line in content if line.strip())
    words = "\n".join(body_lines).split(" ")
    text = " ".join(words[:max_words]).strip()
    if len(text.split()) < 20:
        return None
    return Page(page_id, match["names"].strip(), match["what"].strip().rstrip("."), text)


def candidates(root: Path) -> list[Path]:
    paths = sorted(p for s in SECTIONS for p in (root / s).glob("*.gz"))
    return [p for p in paths if not p.is_symlink() and not p.name.startswith(SKIP_PREFIXES)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--root", type=Path, default=Path("/usr/share/man"))
    parser.add_argument("--pages", type=int, default=3000, help="corpus size")
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--max-words", type=int, default=300, help="per page, from its start")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()

    paths = candidates(args.root)
    random.Random(args.seed).shuffle(paths)
    paths = paths[: int(args.pages * 1.3)]  # some pages have no usable NAME line
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        rendered = list(pool.map(render, paths))
    pages = [
        page
        for path, text in zip(paths, rendered, strict=True)
        if (page := parse(path.name.removesuffix(".gz"), text, args.max_words)) is not None
    ][: args.pages]

    # A description shared by several pages ("SSL/TLS client program") has no single answer.
    counts: dict[str, int] = {}
    for page in pages:
        key = page.description.lower()
        counts[key] = counts.get(key, 0) + 1
    answerable = [
        p for p in pages if counts[p.description.lower()] == 1 and len(p.description.split()) >= 3
    ]
    queries = answerable[: args.queries]

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "qrels").mkdir(exist_ok=True)
    with (args.out / "corpus.jsonl").open("w") as f:
        for page in pages:
            f.write(json.dumps({"_id": page.id, "title": page.names, "text": page.text}) + "\n")
    with (args.out / "queries.jsonl").open("w") as f:
        for n, page in enumerate(queries):
            f.write(json.dumps({"_id": f"q{n}", "text": page.description}) + "\n")
    with (args.out / "qrels" / "test.tsv").open("w") as f:
        f.write("query-id\tcorpus-id\tscore\n")
        for n, page in enumerate(queries):
            f.write(f"q{n}\t{page.id}\t1\n")
    print(f"{len(pages)} pages, {len(queries)} queries -> {args.out}")


if __name__ == "__main__":
    main()
