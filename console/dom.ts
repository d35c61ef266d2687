// Tiny DOM helpers for the console: an element builder, toasts, a modal and a confirmation dialog.
// No framework: screens build their DOM with h() and rebuild the parts whose data changed.

import { t } from './i18n';

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

/** The tag name at the front of an h() spec: 'button.primary#go' → 'button'. */
type TagOf<S extends string> = S extends `${infer T}.${string}` ? TagOf<T> : S extends `${infer T}#${string}` ? T : S;
type ElementOf<S extends string> = TagOf<S> extends keyof HTMLElementTagNameMap ? HTMLElementTagNameMap[TagOf<S>] : HTMLElement;

/** h('button.primary#save', { onclick }, 'Save'): a tag with .classes and an #id, attributes, children. */
export function h<S extends string>(spec: S, attrs: Attrs = {}, ...children: Child[]): ElementOf<S> {
  const tag = /^[a-z0-9]+/i.exec(spec)?.[0] ?? 'div';
  const el = document.createElement(tag);
  for (const [, mark, name] of spec.slice(tag.length).matchAll(/([.#])([^.#]+)/g)) {
    if (mark === '#') el.id = name!;
    else el.classList.add(name!);
  }
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value' && 'value' in el) (el as HTMLInputElement).value = String(v);
    else if (k === 'checked' && 'checked' in el) (el as HTMLInputElement).checked = Boolean(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, ...children);
  return el as ElementOf<S>;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    parent.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
  }
}

export function clear(el: Node): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

export const $ = <T extends Element = HTMLElement>(sel: string, root: ParentNode = document): T | null => root.querySelector<T>(sel);

/** A short message in the corner; errors stay longer. */
export function toast(message: string, kind: 'ok' | 'error' | 'info' = 'info'): void {
  let box = $('#toasts');
  if (!box) document.body.append((box = h('div#toasts', { 'aria-live': 'polite' })));
  const el = h(`div.toast.${kind}`, { role: kind === 'error' ? 'alert' : 'status' }, message);
  box.append(el);
  setTimeout(() => el.remove(), kind === 'error' ? 8000 : 3500);
}

/** A modal dialog; resolves with the button's value, or null when dismissed. */
export function modal(title: string, body: Node, buttons: Array<{ label: string; value: string; kind?: string }>): Promise<string | null> {
  return new Promise((resolve) => {
    const dialog = h('dialog.modal');
    const form = h('form', { method: 'dialog' });
    const footer = h('footer.row.end');
    for (const b of buttons) footer.append(h(`button.${b.kind ?? 'ghost'}`, { value: b.value, type: 'submit' }, b.label));
    form.append(h('h2', {}, title), body, footer);
    dialog.append(form);
    dialog.addEventListener('close', () => {
      resolve(dialog.returnValue && dialog.returnValue !== 'cancel' ? dialog.returnValue : null);
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

export async function confirmDialog(title: string, message: string, action: string): Promise<boolean> {
  const answer = await modal(title, h('p', {}, message), [
    { label: t('common.cancel'), value: 'cancel' },
    { label: action, value: 'ok', kind: 'danger' },
  ]);
  return answer === 'ok';
}

/** Runs an async action with the button disabled, so a double click sends nothing twice. */
export async function busy<T>(button: HTMLButtonElement | null, run: () => Promise<T>): Promise<T | undefined> {
  if (button) button.disabled = true;
  try {
    return await run();
  } finally {
    if (button) button.disabled = false;
  }
}
