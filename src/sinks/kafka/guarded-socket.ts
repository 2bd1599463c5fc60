import type { ISocketFactory } from 'kafkajs';
import { connect as netConnect, isIP, Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { ConnectGuard } from '../sink.js';

/** kafkajs's own keep-alive delay for broker connections. */
const KEEP_ALIVE_DELAY_MS = 60_000;

/**
 * kafkajs's socket factory with every broker connection judged by `guard`:
 * the client dials the hosts brokers advertise in their metadata, not only
 * the bootstrap servers the policy checked, so a tenant's cluster could
 * otherwise point it at any address the server can reach.
 */
export function guardedSocketFactory(guard: ConnectGuard): ISocketFactory {
  return ({ host, port, ssl, onConnect }) => {
    const refused = guard.refusal(host);
    if (refused) {
      // kafkajs expects a socket back and listens for its error; a connection never made is reported the same way.
      const socket = new Socket();
      process.nextTick(() => socket.destroy(refused));
      return socket;
    }
    const socket = ssl
      ? tlsConnect({ host, port, lookup: guard.lookup, ...(isIP(host) ? {} : { servername: host }), ...(ssl as object) }, onConnect)
      : netConnect({ host, port, lookup: guard.lookup }, onConnect);
    socket.setKeepAlive(true, KEEP_ALIVE_DELAY_MS);
    return socket;
  };
}
