// Start-up checks the ports before it writes anything (SPEC 16): the server binds them last, after
// the master key, the schema and the bootstrap owner, so a port another process holds would
// otherwise fail the start only after those were written.
import net from "node:net";

/**
 * Fails with a message naming the setting when `port` on `host` cannot be bound now (in use, or
 * not permitted). Binds and releases it at once; 0 (an ephemeral port) is always free.
 */
export async function assertPortFree(setting: string, port: number, host: string): Promise<void> {
  if (port === 0) return;
  const probe = net.createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once("error", reject);
      probe.listen({ port, host, exclusive: true }, resolve);
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === "EADDRINUSE" ? "is in use" : `cannot be bound (${code ?? String(error)})`;
    throw new Error(`${setting} ${port} on ${host} ${reason}`, { cause: error });
  }
  await new Promise((resolve) => probe.close(resolve));
}
