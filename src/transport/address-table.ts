/**
 * Which transport owns which remote (address, port): nested maps so the per-packet lookup never builds a
 * key string. Shared by the real MediaMux and in-process networks, so both route alike. An owner holds at
 * most `perOwner` addresses (the oldest goes first); with the default of one, binding moves it.
 */
export class AddressTable<T> {
  private readonly routes = new Map<string, Map<number, T>>();
  private readonly byOwner = new Map<T, Array<{ address: string; port: number }>>();

  constructor(private readonly perOwner = 1) {}

  /** `owner` now answers for (address, port) too; beyond `perOwner` addresses its oldest is let go. */
  bind(owner: T, address: string, port: number): void {
    let list = this.byOwner.get(owner);
    if (list?.some((a) => a.address === address && a.port === port)) return;
    let ports = this.routes.get(address);
    if (!ports) this.routes.set(address, (ports = new Map()));
    const previous = ports.get(port);
    if (previous !== undefined && previous !== owner) this.forget(previous, address, port);
    ports.set(port, owner);
    if (!list) this.byOwner.set(owner, (list = []));
    list.push({ address, port });
    while (list.length > this.perOwner) {
      const old = list.shift()!;
      this.drop(owner, old.address, old.port);
    }
  }

  unbind(owner: T): void {
    const list = this.byOwner.get(owner);
    if (!list) return;
    this.byOwner.delete(owner);
    for (const at of list) this.drop(owner, at.address, at.port);
  }

  /** Where `owner` was bound last, or undefined. */
  addressOf(owner: T): { address: string; port: number } | undefined {
    return this.byOwner.get(owner)?.at(-1);
  }

  /** Hot path. */
  lookup(address: string, port: number): T | undefined {
    return this.routes.get(address)?.get(port);
  }

  clear(): void {
    this.routes.clear();
    this.byOwner.clear();
  }

  /** Another owner took (address, port): it is no longer in `owner`'s list. */
  private forget(owner: T, address: string, port: number): void {
    const list = this.byOwner.get(owner);
    if (!list) return;
    const i = list.findIndex((a) => a.address === address && a.port === port);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.byOwner.delete(owner);
  }

  private drop(owner: T, address: string, port: number): void {
    const ports = this.routes.get(address);
    if (ports?.get(port) === owner) {
      ports.delete(port);
      if (ports.size === 0) this.routes.delete(address);
    }
  }
}
