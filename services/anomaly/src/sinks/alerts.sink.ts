/**
 * The alerts sink: alert state changes onto `meter.alerts.v1` and into the `alerts` table.
 *
 * A consumer's alerts go out in its batch's Kafka transaction ({@link AlertsSink.forBatch}):
 * the records are sent with the batch, and the transaction commits only after the `alerts` rows
 * and the batch's other ClickHouse writes were confirmed. The invoice sweep is not a Kafka batch:
 * its alerts go through an idempotent producer of their own ({@link AlertsSink.publish}), at
 * least once, with stable alert ids that consumers deduplicate on.
 */
import { Partitioners, type Kafka, type Message, type Producer } from 'kafkajs';
import { insertTsv, type Alert, type AvroCodec, type InsertOptions, type Logger } from '@meterstream/core';
import { alertOf, alertTsv, insertOriginOf, type AlertOrigin, type Emitted } from '../alerts.js';
import type { AnomalyMetrics } from '../anomaly-metrics.js';

/** Records for a batch's transaction, and the ClickHouse writes it commits after. */
export interface AlertBatchOutput {
  records: { topic: string; messages: Message[] }[];
  confirm: Promise<null>;
  /** Runs once the transaction committed. */
  committed?: () => void;
}

export class AlertsSink {
  readonly #codec: AvroCodec;
  readonly #topic: string;
  readonly #insert: InsertOptions;
  readonly #metrics: AnomalyMetrics;
  readonly #log: Logger;
  readonly #producer: Producer;

  constructor(opts: {
    kafka: Kafka;
    codec: AvroCodec;
    /** The alerts topic. */
    topic: string;
    /** Sink options of the `alerts` insert. */
    insert: InsertOptions;
    metrics: AnomalyMetrics;
    logger: Logger;
  }) {
    this.#codec = opts.codec;
    this.#topic = opts.topic;
    this.#insert = opts.insert;
    this.#metrics = opts.metrics;
    this.#log = opts.logger;
    this.#producer = opts.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
  }

  /** Connects the producer of {@link publish}. */
  async start(): Promise<void> {
    await this.#producer.connect();
  }

  async close(): Promise<void> {
    await this.#producer.disconnect();
  }

  /**
   * A batch's output: its alert records (then `extra` records, e.g. dead letters) for the
   * transaction, and a confirm step that writes the `alerts` rows beside the batch's `writes`.
   */
  forBatch(
    emitted: Emitted[],
    origin: AlertOrigin,
    writes: Promise<unknown>[],
    extra: { topic: string; messages: Message[] }[] = [],
  ): AlertBatchOutput {
    const { messages, body, alerts } = this.#encode(emitted, origin);
    const records: { topic: string; messages: Message[] }[] = [];
    if (messages.length > 0) records.push({ topic: this.#topic, messages });
    for (const r of extra) if (r.messages.length > 0) records.push(r);
    return {
      records,
      confirm: Promise.all([insertTsv(this.#insert, body, emitted.length, insertOriginOf(origin)), ...writes]).then(
        () => {
          this.#counted(alerts);
          if (alerts.length > 0)
            this.#log.info(
              {
                alerts: alerts.map((a) => `${a.type}:${a.status}:${a.severity}`),
                origin: `${origin.source}/${origin.partition}@${origin.offset}`,
              },
              'alerts published',
            );
          return null;
        },
      ),
    };
  }

  /** Outside a transaction: sends the alerts (acks from all replicas), then writes their rows. */
  async publish(emitted: Emitted[], origin: AlertOrigin): Promise<void> {
    const { messages, body, alerts } = this.#encode(emitted, origin);
    if (messages.length > 0) await this.#producer.send({ topic: this.#topic, messages, acks: -1 });
    await insertTsv(this.#insert, body, emitted.length, insertOriginOf(origin));
    this.#counted(alerts);
  }

  /** Alert records for Kafka, and the `alerts` rows for ClickHouse. */
  #encode(emitted: Emitted[], origin: AlertOrigin): { messages: Message[]; body: string; alerts: Alert[] } {
    const messages: Message[] = [];
    const alerts: Alert[] = [];
    let body = '';
    for (const { subject, t } of emitted) {
      const a = alertOf(subject, t);
      alerts.push(a);
      messages.push({ key: a.meter, value: this.#codec.encodeSingleObject('Alert', a) });
      body += alertTsv(a, t.at, origin);
    }
    return { messages, body, alerts };
  }

  #counted(alerts: Alert[]): void {
    for (const a of alerts) this.#metrics.alerts.inc({ type: a.type, severity: a.severity, status: a.status });
  }
}
