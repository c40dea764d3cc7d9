// Server-sent events framing (https://html.spec.whatwg.org/multipage/server-sent-events.html): each
// event is `id:`, `event:` and one `data:` line per line of its payload, then a blank line.

export function sseEvent(event: string, data: unknown, id?: string): string {
  const text = JSON.stringify(data);
  // JSON text has no raw newlines, but guard anyway: every line of data needs its own prefix.
  const lines = text.split(/\r?\n/).map((l) => `data: ${l}`);
  return `${id ? `id: ${id}\n` : ''}event: ${event}\n${lines.join('\n')}\n\n`;
}

/** A comment line: keeps idle proxies from closing the connection. */
export const sseComment = (text: string): string => `: ${text}\n\n`;
