/**
 * Plain messages that stay until they no longer hold (a blocked camera, no speaker), each with its own
 * actions, e.g. Retry. Unlike a toast they do not time out: the problem is still there.
 */
export class Notices {
  private readonly shown = new Map<string, HTMLElement>();

  constructor(private readonly root: HTMLElement) {}

  show(key: string, message: string, actions: Array<{ label: string; run: () => void }> = []): void {
    let el = this.shown.get(key);
    if (!el) {
      el = document.createElement('div');
      el.className = 'notice';
      el.dataset.notice = key;
      el.setAttribute('role', 'alert');
      this.shown.set(key, el);
      this.root.appendChild(el);
    }
    const text = document.createElement('span');
    text.className = 'text';
    text.textContent = message;
    const buttons = actions.map((a) => {
      const b = document.createElement('button');
      b.textContent = a.label;
      b.onclick = () => a.run();
      return b;
    });
    const close = document.createElement('button');
    close.className = 'close';
    close.textContent = '×';
    close.title = 'Dismiss';
    close.setAttribute('aria-label', 'dismiss');
    close.onclick = () => this.clear(key);
    el.replaceChildren(text, ...buttons, close);
  }

  clear(key: string): void {
    this.shown.get(key)?.remove();
    this.shown.delete(key);
  }

  has(key: string): boolean {
    return this.shown.has(key);
  }
}
