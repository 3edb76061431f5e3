// Documents: drag-and-drop upload of many files with per-file progress (XMLHttpRequest reports
// upload progress; fetch does not), then the list with status/label/title filters, refreshed while
// anything is still being indexed.

import { useEffect, useRef, useState, type DragEvent } from "react";
import type { DocumentOut, Page } from "../api/types";
import { Empty, Field, Loaded, PageHeader, StatusBadge, bytes, message, useAsync, when } from "../components/ui";
import { Link } from "../router";
import { useSession } from "../session";

const PAGE = 25;

interface Upload {
  key: string;
  name: string;
  size: number;
  sent: number;
  state: "uploading" | "accepted" | "duplicate" | "failed";
  error?: string;
  documentId?: string;
}

export function Documents() {
  const { client, can } = useSession();
  const [status, setStatus] = useState("");
  const [label, setLabel] = useState("");
  const [title, setTitle] = useState("");
  const [offset, setOffset] = useState(0);
  const [uploads, setUploads] = useState<Upload[]>([]);
  const list = useAsync(
    () =>
      client.get<Page<DocumentOut>>("/v1/documents", {
        status,
        label: label.trim() || undefined,
        title: title.trim() || undefined,
        limit: PAGE,
        offset,
      }),
    [client, status, label, title, offset],
  );
  const pending = list.data?.items.some((d) => d.status === "queued" || d.status === "processing");
  const reload = list.reload;
  useEffect(() => {
    if (!pending) return;
    const timer = setInterval(reload, 1500);
    return () => clearInterval(timer);
  }, [pending, reload]);

  return (
    <section className="page">
      <PageHeader title="Documents" />
      {can("data:write") && (
        <UploadZone uploads={uploads} setUploads={setUploads} onUploaded={reload} />
      )}
      <form className="filters row" onSubmit={(e) => e.preventDefault()} aria-label="Filters">
        <Field label="Status">
          {(p) => (
            <select
              {...p}
              value={status}
              onChange={(e) => {
                setOffset(0);
                setStatus(e.target.value);
              }}
            >
              <option value="">All</option>
              <option value="queued">queued</option>
              <option value="processing">processing</option>
              <option value="ready">ready</option>
              <option value="failed">failed</option>
            </select>
          )}
        </Field>
        <Field label="Label">
          {(p) => <input {...p} value={label} onChange={(e) => { setOffset(0); setLabel(e.target.value); }} />}
        </Field>
        <Field label="Title contains">
          {(p) => <input {...p} value={title} onChange={(e) => { setOffset(0); setTitle(e.target.value); }} />}
        </Field>
      </form>
      <Loaded state={list} label="Loading documents…">
        {(page) =>
          page.items.length === 0 ? (
            <Empty>
              {status || label || title
                ? "No document matches these filters."
                : can("data:write")
                  ? "No documents yet: drop files above to add some."
                  : "No documents yet."}
            </Empty>
          ) : (
            <>
              <table className="table">
                <caption className="visually-hidden">Documents</caption>
                <thead>
                  <tr>
                    <th scope="col">Title</th>
                    <th scope="col">Status</th>
                    <th scope="col">Chunks</th>
                    <th scope="col">Labels</th>
                    <th scope="col">Size</th>
                    <th scope="col">Added</th>
                  </tr>
                </thead>
                <tbody>
                  {page.items.map((d) => (
                    <tr key={d.id} data-status={d.status}>
                      <td>
                        <Link to={`/documents/${d.id}`}>{d.title}</Link>
                      </td>
                      <td>
                        <StatusBadge status={d.status} />
                        {d.error && <small className="field-error"> {d.error}</small>}
                      </td>
                      <td>{d.chunk_count}</td>
                      <td>{d.labels.join(", ")}</td>
                      <td>{bytes(d.size_bytes)}</td>
                      <td>{when(d.created_at)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <nav className="pager row" aria-label="Pages">
                <button type="button" className="secondary" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
                  Previous
                </button>
                <span>
                  {page.offset + 1}–{page.offset + page.items.length} of {page.total}
                </span>
                <button
                  type="button"
                  className="secondary"
                  disabled={offset + PAGE >= page.total}
                  onClick={() => setOffset(offset + PAGE)}
                >
                  Next
                </button>
              </nav>
            </>
          )
        }
      </Loaded>
    </section>
  );
}

function UploadZone({
  uploads,
  setUploads,
  onUploaded,
}: {
  uploads: Upload[];
  setUploads: (f: (u: Upload[]) => Upload[]) => void;
  onUploaded: () => void;
}) {
  const { client } = useSession();
  const [over, setOver] = useState(false);
  const [labels, setLabels] = useState("");
  const input = useRef<HTMLInputElement>(null);

  const change = (key: string, patch: Partial<Upload>) =>
    setUploads((all) => all.map((u) => (u.key === key ? { ...u, ...patch } : u)));

  const send = (files: File[]) => {
    const added = files.map((f) => ({
      key: crypto.randomUUID(),
      name: f.name,
      size: f.size,
      sent: 0,
      state: "uploading" as const,
    }));
    setUploads((all) => [...added, ...all]);
    // Two at a time: progress stays meaningful and the server is not flooded.
    const queue = files.map((file, i) => ({ file, key: added[i].key }));
    const worker = async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const { file, key } = next;
        const form = new FormData();
        form.append("file", file, file.name);
        if (labels.trim()) form.append("labels", labels.trim());
        try {
          const doc = await client.upload<DocumentOut>("/v1/documents", form, (p) =>
            change(key, { sent: p.loaded / p.total }),
          );
          change(key, { sent: 1, state: doc.duplicate ? "duplicate" : "accepted", documentId: doc.id });
        } catch (err) {
          change(key, { state: "failed", error: message(err) });
        }
        onUploaded();
      }
    };
    void Promise.all([worker(), worker()]);
  };

  const drop = (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    const files = Array.from(e.dataTransfer.files);
    if (files.length) send(files);
  };

  return (
    <section className="card upload" aria-labelledby="upload-title">
      <h2 id="upload-title">Upload</h2>
      <div
        className={over ? "dropzone over" : "dropzone"}
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={drop}
        data-testid="dropzone"
      >
        <p>Drop files here (txt, md, html, pdf, docx), or</p>
        <button type="button" onClick={() => input.current?.click()}>
          Choose files…
        </button>
        <input
          ref={input}
          type="file"
          multiple
          className="visually-hidden"
          aria-label="Files to upload"
          tabIndex={-1}
          onChange={(e) => {
            const files = Array.from(e.target.files ?? []);
            e.target.value = "";
            if (files.length) send(files);
          }}
        />
      </div>
      <Field label="Labels for new uploads" hint="Comma-separated, e.g. hr,policy">
        {(p) => <input {...p} value={labels} onChange={(e) => setLabels(e.target.value)} />}
      </Field>
      {uploads.length > 0 && (
        <ul className="uploads" aria-label="Uploads">
          {uploads.map((u) => (
            <li key={u.key} data-state={u.state}>
              <span className="name">{u.name}</span> <small>{bytes(u.size)}</small>
              <progress max={1} value={u.sent} aria-label={`Upload of ${u.name}`} />
              <span className="upload-state" role="status">
                {u.state === "uploading" && `${Math.round(u.sent * 100)}%`}
                {u.state === "accepted" && "uploaded"}
                {u.state === "duplicate" && "already there (same content)"}
                {u.state === "failed" && <span className="field-error">{u.error}</span>}
              </span>
              {u.documentId && <Link to={`/documents/${u.documentId}`}>open</Link>}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
