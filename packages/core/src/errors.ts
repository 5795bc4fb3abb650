/**
 * One error type for the whole project, after kafkajs's `KafkaJSError`: callers match on
 * `code`, never on message text, and the error survives a trip across a worker thread
 * (`toJSON` / `fromJSON`).
 */

/** Every error code meterstream raises. */
export type MeterErrorCode =
  | 'METER_ERR_CONFIG'
  | 'METER_ERR_AVRO_MAGIC'
  | 'METER_ERR_AVRO_TRUNCATED'
  | 'METER_ERR_AVRO_UNKNOWN_SCHEMA'
  | 'METER_ERR_AVRO_DECODE'
  | 'METER_ERR_SCHEMA_REGISTRY'
  | 'METER_ERR_VALIDATION'
  | 'METER_ERR_CLICKHOUSE'
  | 'METER_ERR_KAFKA'
  | 'METER_ERR_CLOSED'
  | 'METER_ERR_INTERNAL';

/** Where in Kafka an error happened, when it happened on a record. */
export interface RecordContext {
  topic?: string;
  partition?: number;
  offset?: string;
}

export interface MeterErrorOptions {
  /** True when trying the same thing again may succeed (network, 5xx, timeouts). */
  retriable?: boolean;
  cause?: unknown;
  context?: RecordContext;
}

/** Base error: `code` for matching, `retriable` for retry loops, `context` for the DLQ. */
export class MeterError extends Error {
  readonly code: MeterErrorCode;
  readonly retriable: boolean;
  readonly context: RecordContext;

  constructor(code: MeterErrorCode, message: string, options: MeterErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MeterError';
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.context = options.context ?? {};
  }

  toJSON(): { code: MeterErrorCode; message: string; retriable: boolean; context: RecordContext } {
    return { code: this.code, message: this.message, retriable: this.retriable, context: this.context };
  }

  static fromJSON(json: {
    code: MeterErrorCode;
    message: string;
    retriable?: boolean;
    context?: RecordContext;
  }): MeterError {
    return new MeterError(json.code, json.message, { retriable: json.retriable, context: json.context });
  }
}

/** A configuration value that cannot be used; the message names the variable. */
export class ConfigError extends MeterError {
  readonly field: string;
  constructor(field: string, message: string) {
    super('METER_ERR_CONFIG', `${field}: ${message}`);
    this.name = 'ConfigError';
    this.field = field;
  }
}

export function isMeterError(err: unknown): err is MeterError {
  return err instanceof MeterError;
}
