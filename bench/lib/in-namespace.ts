import { createBenchNamespace } from '../../tools/janus/janus-netns.ts';

/**
 * Benches that need a network namespace (Janus gathers no loopback candidates) run twice: on the host this
 * makes the namespace, re-runs `file` inside it with `--inside --ns --veth` plus `passthrough`, always
 * cleans up, and exits with the child's code. Returns only inside the namespace.
 */
export async function runInBenchNamespace(o: { file: string; label: string; namespace: string; inside: boolean; passthrough: string[] }): Promise<void> {
  if (o.inside) return;
  if (process.getuid?.() !== 0) {
    process.stderr.write(`${o.label} needs root (it creates a network namespace)\n`);
    process.exit(2);
  }
  const ns = await createBenchNamespace(o.namespace);
  let code = 1;
  try {
    const child = ns.spawn(process.execPath, ['--import', 'tsx', o.file, '--inside', '--ns', ns.name, '--veth', ns.veth, ...o.passthrough], { stdio: 'inherit' });
    code = await new Promise<number>((resolve) => child.on('exit', (c, sig) => resolve(c ?? (sig ? 1 : 0))));
  } finally {
    await ns.destroy();
  }
  process.exit(code);
}

/**
 * The namespace as seen from inside it (after runInBenchNamespace re-ran the bench there): commands run as
 * they are, the interface and name come from the --ns/--veth arguments it passed.
 */
export function namespaceView(name: string, veth: string): { name: string; veth: string; exec: (cmd: string, a?: readonly string[]) => { file: string; args: string[] } } {
  return { name, veth, exec: (cmd: string, a: readonly string[] = []) => ({ file: cmd, args: [...a] }) };
}
