/**
 * Which transport owns which remote (address, port): nested maps so the per-packet lookup never builds a
 * key string. Shared by the real MediaMux and in-process networks, so both route alike.
 */
export class AddressTable<T> {
  private readonly routes = new Map<string, Map<number, T>>();
  private readonly byOwner = new Map<T, { address: string; port: number }>();

  /** `owner` now answers for (address, port); it leaves any address it had, and takes the one it gets. */
  bind(owner: T, address: string, port: number): void {
    this.unbind(owner);
    let ports = this.routes.get(address);
    if (!ports) this.routes.set(address, (ports = new Map()));
    const previous = ports.get(port);
    if (previous !== undefined && previous !== owner) this.byOwner.delete(previous);
    ports.set(port, owner);
    this.byOwner.set(owner, { address, port });
  }

  unbind(owner: T): void {
    const at = this.byOwner.get(owner);
    if (!at) return;
    this.byOwner.delete(owner);
    const ports = this.routes.get(at.address);
    if (ports?.get(at.port) === owner) {
      ports.delete(at.port);
      if (ports.size === 0) this.routes.delete(at.address);
    }
  }

  /** Where `owner` is bound, or undefined. */
  addressOf(owner: T): { address: string; port: number } | undefined {
    return this.byOwner.get(owner);
  }

  /** Hot path. */
  lookup(address: string, port: number): T | undefined {
    return this.routes.get(address)?.get(port);
  }

  clear(): void {
    this.routes.clear();
    this.byOwner.clear();
  }
}
