/**
 * A network cut between a Kafka client and every broker, for tests. A TCP proxy on another port
 * would see only the bootstrap connection: clients learn the brokers' addresses from metadata
 * (the advertised listeners) and connect to those directly. So the cut sits at the client's
 * socket seam instead (kafkajs `socketFactory`): every real connection the client opens, to any
 * broker, goes through it. Cutting destroys the open connections with ECONNRESET, and
 * connections opened during the cut never connect (the client's connection timeout fires, as
 * when packets are dropped); restoring lets new connections through again.
 */
import { connect, Socket } from 'node:net';
import type { ISocketFactory } from 'kafkajs';

/** A socket factory for a kafkajs client, and the switch of its network. */
export interface KafkaNetwork {
  /** Pass as `socketFactory` to `new Kafka(...)`. */
  readonly socketFactory: ISocketFactory;
  /** Drops every open connection; new ones hang until {@link restore}. */
  cut(): void;
  restore(): void;
  /** Connections opened so far, and those dropped or held by cuts. */
  readonly counts: { opened: number; dropped: number };
}

export function cuttableKafkaNetwork(): KafkaNetwork {
  const open = new Set<Socket>();
  const counts = { opened: 0, dropped: 0 };
  let isCut = false;
  const socketFactory: ISocketFactory = ({ host, port, onConnect }) => {
    if (isCut) {
      counts.dropped++;
      // Never connected: the client gives up after its connectionTimeout, as on a dead link.
      return new Socket();
    }
    counts.opened++;
    const socket = connect({ host, port }, onConnect);
    socket.setKeepAlive(true, 60_000);
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    return socket;
  };
  return {
    socketFactory,
    counts,
    cut() {
      isCut = true;
      for (const s of open) {
        counts.dropped++;
        s.destroy(Object.assign(new Error('read ECONNRESET (injected network cut)'), { code: 'ECONNRESET' }));
      }
      open.clear();
    },
    restore() {
      isCut = false;
    },
  };
}
