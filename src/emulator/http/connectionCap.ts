/**
 * The connection cap (`maxConnections`). Node's own cap closes every connection beyond it, so a
 * local process that keeps the cap full with sockets that send nothing (and reconnects when they
 * are cut) locks every client out. Here a slot is held by a request, not by a socket: at the cap,
 * a new connection takes the slot of the connection idle longest (one with no request in flight:
 * it has not sent a whole request head yet, or it waits between keep-alive requests), and the
 * newcomer is closed at once only when every connection has a request in flight.
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";

/** One open connection. */
interface Slot {
  socket: Socket;
  /** Requests taken and not yet answered (more than one when requests are pipelined). */
  inFlight: number;
}

/**
 * Caps the connections of a server (HTTP or HTTPS) without letting idle ones lock clients out.
 * @param server - the server, before it listens; it must not set `maxConnections` itself
 * @param max - the most connections open at once
 */
export function capConnections(server: Server, max: number): void {
  // By the connection's remote address and port: the same key for the TCP socket (`connection`)
  // and, under TLS, for the TLS socket a request arrives on. The map's order is the order in
  // which connections became idle (a connection is moved to the end when it does).
  const slots = new Map<string, Slot>();

  server.on("connection", (socket: Socket) => {
    const key = remoteKey(socket);
    if (key === undefined || (slots.size >= max && !closeIdlest(slots))) {
      socket.destroy();
      return;
    }
    slots.set(key, { socket, inFlight: 0 });
    socket.once("close", () => {
      if (slots.get(key)?.socket === socket) slots.delete(key);
    });
  });

  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const key = remoteKey(req.socket);
    const slot = key === undefined ? undefined : slots.get(key);
    if (key === undefined || slot === undefined) return;
    slot.inFlight += 1;
    res.once("close", () => {
      slot.inFlight -= 1;
      if (slot.inFlight > 0 || slots.get(key) !== slot) return;
      slots.delete(key);
      slots.set(key, slot);
    });
  });
}

/**
 * Closes the connection idle longest.
 * @param slots - the open connections, in the order they became idle
 * @returns false when every connection has a request in flight
 */
function closeIdlest(slots: Map<string, Slot>): boolean {
  for (const [key, slot] of slots) {
    if (slot.inFlight > 0) continue;
    slots.delete(key);
    slot.socket.destroy();
    return true;
  }
  return false;
}

function remoteKey(socket: Socket): string | undefined {
  const { remoteAddress, remotePort } = socket;
  return remoteAddress === undefined || remotePort === undefined
    ? undefined
    : `${remoteAddress}|${remotePort}`;
}
