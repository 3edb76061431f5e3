// One document: its facts, its chunks (the passages search and answers use), and delete.

import { useEffect, useState } from "react";
import type { ChunkOut, DocumentOut } from "../api/types";
import { Dialog, Empty, ErrorMessage, Loaded, PageHeader, StatusBadge, bytes, useAsync, when } from "../components/ui";
import { Link, navigate } from "../router";
import { useSession } from "../session";

export function DocumentDetail({ id }: { id: string }) {
  const { client, can } = useSession();
  const doc = useAsync(() => client.get<DocumentOut>(`/v1/documents/${id}`), [client, id]);
  const chunks = useAsync(() => client.get<ChunkOut[]>(`/v1/documents/${id}/chunks`), [client, id, doc.data?.status]);
  const [confirm, setConfirm] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const pending = doc.data?.status === "queued" || doc.data?.status === "processing";
  const reload = doc.reload;
  useEffect(() => {
    if (!pending) return;
    const t = setInterval(reload, 1500);
    return () => clearInterval(t);
  }, [pending, reload]);

  const remove = async () => {
    try {
      await client.delete(`/v1/documents/${id}`);
      navigate("/documents");
    } catch (err) {
      setError(err);
      setConfirm(false);
    }
  };

  return (
    <section className="page">
      <p>
        <Link to="/documents">← Documents</Link>
      </p>
      <Loaded state={doc} label="Loading the document…">
        {(d) => (
          <>
            <PageHeader title={d.title}>
              {can("data:write") && (
                <button type="button" className="danger" onClick={() => setConfirm(true)}>
                  Delete
                </button>
              )}
            </PageHeader>
            <ErrorMessage error={error} />
            <dl className="facts">
              <dt>Status</dt>
              <dd>
                <StatusBadge status={d.status} /> {d.error}
              </dd>
              <dt>Chunks</dt>
              <dd>{d.chunk_count}</dd>
              <dt>File</dt>
              <dd>{d.filename ?? "—"} ({d.content_type}, {bytes(d.size_bytes)})</dd>
              <dt>Labels</dt>
              <dd>{d.labels.join(", ") || "—"}</dd>
              {d.url && (
                <>
                  <dt>URL</dt>
                  <dd>
                    <a href={d.url} target="_blank" rel="noreferrer">
                      {d.url}
                    </a>
                  </dd>
                </>
              )}
              {d.external_id && (
                <>
                  <dt>External id</dt>
                  <dd>{d.external_id}</dd>
                </>
              )}
              <dt>Added</dt>
              <dd>{when(d.created_at)}</dd>
              {Object.keys(d.metadata).length > 0 && (
                <>
                  <dt>Metadata</dt>
                  <dd>
                    <code>{JSON.stringify(d.metadata)}</code>
                  </dd>
                </>
              )}
            </dl>
            <h2>Chunks</h2>
            <Loaded state={chunks} label="Loading chunks…">
              {(items) =>
                items.length === 0 ? (
                  <Empty>{d.status === "ready" ? "This document has no text." : "Not indexed yet."}</Empty>
                ) : (
                  <ol className="chunks">
                    {items.map((c) => (
                      <li key={c.id} id={`chunk-${c.id}`}>
                        <p className="meta">
                          #{c.chunk_number} · {c.token_count} tokens
                          {typeof c.metadata.heading === "string" && ` · ${c.metadata.heading}`}
                          {c.metadata.page !== undefined && ` · page ${String(c.metadata.page)}`}
                          {!c.embedded && " · not embedded yet"}
                        </p>
                        <p className="chunk-text">{c.content}</p>
                      </li>
                    ))}
                  </ol>
                )
              }
            </Loaded>
            {confirm && (
              <Dialog title="Delete this document?" onClose={() => setConfirm(false)}>
                <p>
                  “{d.title}”, its {d.chunk_count} chunks and its stored file will be deleted. Answers
                  will no longer cite it.
                </p>
                <div className="row">
                  <button type="button" className="danger" onClick={remove}>
                    Delete
                  </button>
                  <button type="button" className="secondary" onClick={() => setConfirm(false)}>
                    Cancel
                  </button>
                </div>
              </Dialog>
            )}
          </>
        )}
      </Loaded>
    </section>
  );
}
