// Ports for test servers that must know their port before they listen (server processes, a
// METRICS_PORT, an SMTP sink that stops and listens again on the same port).
import net from "node:net";

/**
 * Ports handed out by `freePort`: below the kernel's ephemeral range (32768 and up on Linux,
 * 49152 and up on macOS), which supplies the local ports of outgoing connections. A port taken
 * from that range (listen on port 0) is free when checked, but between the check and the
 * caller's own listen an outgoing connection of any test (to MariaDB, SMTP, a server) can take
 * it as its local port, and the listen fails with EADDRINUSE, as it once did on CI.
 */
const FREE_PORTS = { from: 20_000, to: 32_767 };

function canListenOn(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/**
 * A port nothing listens on right now, picked at random below the ephemeral range, so only
 * another test picking the same port in the same moment could take it before the caller does.
 */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < 100; tries++) {
    const port = FREE_PORTS.from + Math.floor(Math.random() * (FREE_PORTS.to - FREE_PORTS.from));
    if (await canListenOn(port)) return port;
  }
  throw new Error(`no free port between ${FREE_PORTS.from} and ${FREE_PORTS.to}`);
}
