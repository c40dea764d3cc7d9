// A tiny element builder: text always goes in as text (never parsed as HTML), so nothing a node or a
// job puts in its meta or logs can inject markup into the page.
type Child = Node | string | number | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) el.setAttribute(k, v);
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'number' ? String(c) : c);
  }
  return el;
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return el as T;
}

/** Shows `text` in a banner element, or hides it when text is undefined. */
export function setBanner(el: HTMLElement, text: string | undefined, kind = 'error'): void {
  el.hidden = text === undefined;
  el.textContent = text ?? '';
  el.dataset.kind = text === undefined ? '' : kind;
}
