import { describe, expect, it } from "vitest";
import { readSse, SseParser } from "../src/api/sse";

const stream = (parts: string[]) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      const enc = new TextEncoder();
      for (const p of parts) controller.enqueue(enc.encode(p));
      controller.close();
    },
  });

describe("SseParser", () => {
  it("parses the chat stream's events in order", () => {
    const p = new SseParser();
    const events = p.feed(
      'event: delta\ndata: {"text": "Staff get"}\n\nevent: delta\ndata: {"text": " 25 days [1]."}\n\n' +
        'event: done\ndata: {"query_id": "q1"}\n\n',
    );
    expect(events.map((e) => e.event)).toEqual(["delta", "delta", "done"]);
    expect(JSON.parse(events[1].data)).toEqual({ text: " 25 days [1]." });
  });

  it("keeps events split anywhere across chunks, CRLF split included", () => {
    const text = 'event: delta\r\ndata: {"text": "a"}\r\n\r\nevent: done\r\ndata: {}\r\n\r\n';
    for (let cut = 1; cut < text.length; cut++) {
      const p = new SseParser();
      const events = [...p.feed(text.slice(0, cut)), ...p.feed(text.slice(cut))];
      expect(events, `cut at ${cut}`).toEqual([
        { event: "delta", data: '{"text": "a"}' },
        { event: "done", data: "{}" },
      ]);
    }
  });

  it("joins multi-line data, ignores comments, defaults the event name, keeps the id", () => {
    const p = new SseParser();
    const events = p.feed(": keep-alive\nid: 7\ndata: line one\ndata:line two\n\ndata\n\n");
    expect(events).toEqual([
      { event: "message", data: "line one\nline two", id: "7" },
      { event: "message", data: "", id: "7" },
    ]);
  });

  it("drops an event that never got its blank line", () => {
    const p = new SseParser();
    expect(p.feed("event: delta\ndata: cut")).toEqual([]);
    expect(p.end()).toEqual([]);
  });

  it("reads a byte stream with multi-byte characters split between chunks", async () => {
    const bytes = new TextEncoder().encode('event: delta\ndata: {"text": "café ☕"}\n\n');
    const parts = [bytes.slice(0, 27), bytes.slice(27, 30), bytes.slice(30)];
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        parts.forEach((x) => c.enqueue(x));
        c.close();
      },
    });
    const seen: string[] = [];
    await readSse(body, (e) => seen.push(JSON.parse(e.data).text));
    expect(seen).toEqual(["café ☕"]);
    const more: string[] = [];
    await readSse(stream(["data: a\n", "\ndata: b\n\n"]), (e) => more.push(e.data));
    expect(more).toEqual(["a", "b"]);
  });
});
