// Highlighted matches in search results: the query's words, found case-insensitively in the text.

export interface Segment {
  text: string;
  match: boolean;
}

const STOP = new Set(["the", "and", "for", "are", "was", "with", "how", "what", "who", "why"]);

/** The words worth highlighting: 2+ characters, not a handful of stop words, longest first. */
export function terms(query: string): string[] {
  const words = query
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w.length >= 2 && !STOP.has(w));
  return [...new Set(words)].sort((a, b) => b.length - a.length);
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Split `text` into plain and matching segments (a word matches at its start: "refund" in "refunds"). */
export function highlight(text: string, query: string): Segment[] {
  const words = terms(query);
  if (words.length === 0 || !text) return text ? [{ text, match: false }] : [];
  const pattern = new RegExp(`(?<![\\p{L}\\p{N}])(${words.map(escape).join("|")})`, "giu");
  const out: Segment[] = [];
  let last = 0;
  for (const m of text.matchAll(pattern)) {
    const start = m.index ?? 0;
    if (start > last) out.push({ text: text.slice(last, start), match: false });
    out.push({ text: m[0], match: true });
    last = start + m[0].length;
  }
  if (last < text.length) out.push({ text: text.slice(last), match: false });
  return out;
}

/** Split an answer at its citation markers "[n]" so they can be drawn as chips. */
export function citationParts(answer: string): (string | number)[] {
  const out: (string | number)[] = [];
  let last = 0;
  for (const m of answer.matchAll(/\[(\d{1,3})\]/g)) {
    const start = m.index ?? 0;
    if (start > last) out.push(answer.slice(last, start));
    out.push(Number(m[1]));
    last = start + m[0].length;
  }
  if (last < answer.length) out.push(answer.slice(last));
  return out;
}
