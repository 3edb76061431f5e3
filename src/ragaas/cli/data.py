"""``ragaas ingest``, ``search`` and ``ask``: clients of a running server's REST API."""

from __future__ import annotations

import mimetypes
import os
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Annotated, Any

import httpx
import typer
from rich.markdown import Markdown
from rich.markup import escape
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ragaas.cli.common import console, err_console, fail, print_json, split_list
from ragaas.retrieval.schemas import SearchMode

app = typer.Typer()

DEFAULT_URL = "http://127.0.0.1:8000"
SUPPORTED_EXTENSIONS = frozenset({".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx"})
FINISHED = ("ready", "failed")
POLL_SECONDS = 0.5

UrlOption = Annotated[
    str, typer.Option("--url", envvar="RAGAAS_URL", help="Base URL of the Ragaas server.")
]
ApiKeyOption = Annotated[
    str | None,
    typer.Option(
        "--api-key", envvar="RAGAAS_API_KEY", help="An API key (rg_...).", show_default=False
    ),
]
LabelsOption = Annotated[str | None, typer.Option("--labels", help="Comma-separated labels.")]
ModeOption = Annotated[SearchMode, typer.Option("--mode", help="Retrieval mode.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the server's JSON response.")]
TimeoutOption = Annotated[float, typer.Option("--timeout", help="Seconds to wait for the server.")]


class ApiError(Exception):
    """A failed API call; ``status_code`` is None when the server could not be reached."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code

    @property
    def fatal(self) -> bool:
        """Whether retrying with another file is pointless (unreachable server, bad credentials)."""
        return self.status_code is None or self.status_code in (401, 403)


class Api:
    """A minimal synchronous client for the Ragaas REST API."""

    def __init__(self, url: str, api_key: str | None, timeout: float) -> None:
        if not api_key:
            fail("an API key is required: pass --api-key or set RAGAAS_API_KEY")
        self.url = url.rstrip("/")
        self.timeout = timeout
        headers = {"Authorization": f"Bearer {api_key}"}
        self._client = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def __enter__(self) -> Api:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._client.close()

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send a request; raise ApiError with one readable line on any failure."""
        try:
            response = self._send(method, path, kwargs)
        except httpx.ConnectError:
            raise ApiError(
                f"cannot connect to {self.url}: is `ragaas serve` running there?"
            ) from None
        except httpx.TimeoutException:
            raise ApiError(f"{self.url} did not answer within {self.timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise ApiError(f"request to {self.url} failed: {exc}") from None
        if response.status_code >= 400:
            raise ApiError(problem_message(response), response.status_code)
        return response.json()

    def _send(self, method: str, path: str, kwargs: dict[str, Any]) -> httpx.Response:
        try:
            return self._client.request(method, path, **kwargs)
        except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError):
            # uvicorn closes a kept-alive connection after a 500; the next request can race that
            # close. Resending is safe: uploads are idempotent (external id), the rest are reads.
            return self._client.request(method, path, **kwargs)


def problem_message(response: httpx.Response) -> str:
    """One line from an error response: status, title and the problem+json detail."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("detail"):
        title = body.get("title") or response.reason_phrase
        return f"{response.status_code} {title}: {body['detail']}"
    return f"{response.status_code} {response.reason_phrase}"


def call_once(url: str, api_key: str | None, timeout: float, path: str, body: Any) -> Any:
    """POST ``body`` to ``path``; any failure exits with one clear line."""
    with Api(url, api_key, timeout) as api:
        try:
            return api.call("POST", path, json=body)
        except ApiError as exc:
            fail(exc.message)


# --- ingest -----------------------------------------------------------------------------------


@dataclass
class Outcome:
    path: Path
    document_id: str | None = None
    status: str = "failed"
    duplicate: bool = False
    chunks: int = 0
    error: str | None = None

    def update(self, body: dict[str, Any]) -> None:
        """Take the status fields of a document body."""
        self.document_id = str(body["id"])
        self.status = str(body["status"])
        self.chunks = int(body.get("chunk_count") or 0)
        self.error = body.get("error")

    @property
    def category(self) -> str:
        """ready, duplicate, failed or pending."""
        if self.status == "failed":
            return "failed"
        if self.duplicate:
            return "duplicate"
        return "ready" if self.status == "ready" else "pending"


@app.command()
def ingest(
    paths: Annotated[
        list[Path], typer.Argument(exists=True, help="Files or folders (searched recursively).")
    ],
    url: UrlOption = DEFAULT_URL,
    api_key: ApiKeyOption = None,
    labels: LabelsOption = None,
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help="Wait until every document is ingested.")
    ] = True,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds to wait for ingestion to finish.")
    ] = 900.0,
) -> None:
    """Upload documents to the server and (by default) wait until they are searchable."""
    files, skipped = collect_files(paths)
    for path in skipped:
        err_console.print(f"skipping {escape(str(path))} (unsupported file type)", soft_wrap=True)
    if not files:
        fail(f"no files to ingest; supported types: {', '.join(sorted(SUPPORTED_EXTENSIONS))}")
    with Api(url, api_key, timeout=120.0) as api:
        try:
            outcomes = upload_all(api, files, split_list(labels))
            if wait:
                wait_all(api, outcomes, timeout)
        except ApiError as exc:
            fail(exc.message)
    print_summary(outcomes, len(skipped), wait)
    categories = [o.category for o in outcomes]
    if "failed" in categories or (wait and "pending" in categories):
        raise typer.Exit(1)


def collect_files(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """Supported files under ``paths`` (hidden ones left out), and the unsupported ones."""
    found: dict[Path, None] = {}
    for path in paths:
        candidates = [path] if path.is_file() else _walk(path)
        for candidate in candidates:
            found.setdefault(candidate, None)
    files = [p for p in found if p.suffix.lower() in SUPPORTED_EXTENSIONS]
    skipped = [p for p in found if p.suffix.lower() not in SUPPORTED_EXTENSIONS]
    return files, skipped


def _walk(folder: Path) -> list[Path]:
    found: list[Path] = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))  # prunes .git and the like
        found.extend(Path(root) / name for name in sorted(names) if not name.startswith("."))
    return found


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
    )


def upload_all(api: Api, files: list[Path], labels: list[str]) -> list[Outcome]:
    """Upload every file, one request each, with a progress bar."""
    outcomes: list[Outcome] = []
    with _progress() as progress:
        task = progress.add_task("Uploading", total=len(files))
        for path in files:
            outcomes.append(upload_one(api, path, labels))
            progress.advance(task)
    return outcomes


def upload_one(api: Api, path: Path, labels: list[str]) -> Outcome:
    """POST one file; per-file errors are recorded, fatal ones (no server, bad key) raised."""
    outcome = Outcome(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        outcome.error = f"cannot read the file: {exc.strerror}"
        return outcome
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    # The file's URI as external id: ingesting an edited file again replaces its old version.
    form = {"external_id": path.resolve().as_uri(), "labels": ",".join(labels)}
    try:
        body = api.call(
            "POST", "/v1/documents", files={"file": (path.name, data, content_type)}, data=form
        )
    except ApiError as exc:
        if exc.fatal:
            raise
        outcome.error = exc.message
        return outcome
    outcome.update(body)
    outcome.duplicate = bool(body.get("duplicate"))
    return outcome


def wait_all(api: Api, outcomes: list[Outcome], timeout: float) -> None:
    """Poll the submitted documents until each is ready or failed, or until ``timeout``."""
    tracked = [o for o in outcomes if o.document_id is not None]
    pending = [o for o in tracked if o.status not in FINISHED]
    deadline = time.monotonic() + timeout
    with _progress() as progress:
        task = progress.add_task(
            "Ingesting", total=len(tracked), completed=len(tracked) - len(pending)
        )
        while pending and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
            for outcome in list(pending):
                refresh(api, outcome)
                if outcome.status in FINISHED:
                    pending.remove(outcome)
                    progress.advance(task)


def refresh(api: Api, outcome: Outcome) -> None:
    """Re-read one document's status."""
    try:
        outcome.update(api.call("GET", f"/v1/documents/{outcome.document_id}"))
    except ApiError as exc:
        if exc.fatal:
            raise
        outcome.status, outcome.error = "failed", exc.message


def print_summary(outcomes: list[Outcome], skipped: int, waited: bool) -> None:
    """Counts per outcome, then the failed files with their reasons."""
    counts = {"ready": 0, "duplicate": 0, "failed": 0, "pending": 0}
    for outcome in outcomes:
        counts[outcome.category] += 1
    if waited:
        rows = [("ready", counts["ready"])]
    else:
        rows = [("accepted", counts["ready"] + counts["pending"])]
    rows += [("duplicate (unchanged)", counts["duplicate"]), ("failed", counts["failed"])]
    if waited and counts["pending"]:
        rows.append(("still processing", counts["pending"]))
    rows.append(("skipped", skipped))
    table = Table(title="Ingestion summary")
    table.add_column("Result")
    table.add_column("Files", justify="right")
    for name, count in rows:
        table.add_row(name, str(count))
    console.print(table)
    _print_failures([o for o in outcomes if o.category == "failed"])


def _print_failures(failed: list[Outcome]) -> None:
    if not failed:
        return
    table = Table(title="Failed", title_style="bold red")
    table.add_column("File", overflow="fold")
    table.add_column("Error", overflow="fold")
    for outcome in failed:
        table.add_row(escape(str(outcome.path)), escape(outcome.error or "unknown error"))
    console.print(table)


# --- search and ask ---------------------------------------------------------------------------


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    url: UrlOption = DEFAULT_URL,
    api_key: ApiKeyOption = None,
    top_k: Annotated[int, typer.Option("--top-k", min=1, max=100, help="How many passages.")] = 5,
    mode: ModeOption = SearchMode.HYBRID,
    labels: LabelsOption = None,
    as_json: JsonOption = False,
    timeout: TimeoutOption = 60.0,
) -> None:
    """Search the organisation's documents and show the best passages."""
    body = {"query": query, "top_k": top_k, "mode": mode.value, "filters": _filters(labels)}
    result = call_once(url, api_key, timeout, "/v1/search", body)
    if as_json:
        print_json(result)
        return
    results = result["results"]
    if not results:
        console.print("No results.")
        return
    table = Table(title=f"{len(results)} results ({mode.value})", show_lines=True)
    table.add_column("#", justify="right")
    table.add_column("Score", justify="right")
    table.add_column("Document", overflow="fold")
    table.add_column("Passage", overflow="fold")
    for n, hit in enumerate(results, start=1):
        table.add_row(
            str(n), f"{hit['score']:.4f}", escape(hit["title"]), escape(_short(hit["content"]))
        )
    console.print(table)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="A question about your documents.")],
    url: UrlOption = DEFAULT_URL,
    api_key: ApiKeyOption = None,
    top_k: Annotated[int, typer.Option("--top-k", min=1, max=20, help="Passages to use.")] = 6,
    mode: ModeOption = SearchMode.HYBRID,
    labels: LabelsOption = None,
    as_json: JsonOption = False,
    timeout: TimeoutOption = 180.0,
) -> None:
    """Ask a question; the answer cites its numbered sources."""
    body = {"query": question, "top_k": top_k, "mode": mode.value, "filters": _filters(labels)}
    result = call_once(url, api_key, timeout, "/v1/chat", body)
    if as_json:
        print_json(result)
        return
    # Answers are Markdown (an LLM's lists, the sources' emphasis); [n] stays literal text.
    console.print(Panel(Markdown(result["answer"].strip() or "(no answer)"), title="Answer"))
    if result["citations"]:
        console.print(_sources(result["citations"]))


def _sources(citations: list[dict[str, Any]]) -> Table:
    """Numbered sources: title and location, then the cited snippet."""
    grid = Table.grid(padding=(0, 1))
    grid.title, grid.title_justify = "Sources", "left"
    grid.add_column(justify="right")
    grid.add_column(overflow="fold")
    for citation in citations:
        where = citation.get("url") or citation.get("external_id") or citation["document_id"]
        grid.add_row(f"[{citation['n']}]", f"{escape(citation['title'])} ({escape(str(where))})")
        grid.add_row("", f"[dim]{escape(_short(citation['snippet'], 200))}[/dim]")
    return grid


def _filters(labels: str | None) -> dict[str, Any]:
    return {"labels": split_list(labels)}


def _short(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"
