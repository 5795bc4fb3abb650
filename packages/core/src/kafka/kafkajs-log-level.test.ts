import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { logLevel } from 'kafkajs';
import { kafkajsLogLevel, ROUTINE_PROTOCOL_ERRORS, type KafkajsLogLine } from './kafkajs-log-level.js';

/** kafkajs's own table of broker error codes, whose messages its logs carry. */
const errorCodes = createRequire(import.meta.url)('kafkajs/src/protocol/error.js').errorCodes as {
  type: string;
  message: string;
}[];
const messageOf = (type: string): string => {
  const entry = errorCodes.find((e) => e.type === type);
  assert.ok(entry, `kafkajs knows ${type}`);
  return entry.message;
};

/** A failed response as kafkajs's Connection logs it. */
const response = (api: string, type: string): KafkajsLogLine => ({
  level: logLevel.ERROR,
  namespace: 'Connection',
  message: `Response ${api}(key: 12, version: 3)`,
  error: messageOf(type),
});

test('routine group answers are debug, whatever the request: rebalances, generations, members, coordinators', () => {
  for (const type of [
    'REBALANCE_IN_PROGRESS',
    'ILLEGAL_GENERATION',
    'UNKNOWN_MEMBER_ID',
    'MEMBER_ID_REQUIRED',
    'NOT_COORDINATOR_FOR_GROUP',
    'GROUP_COORDINATOR_NOT_AVAILABLE',
    'GROUP_LOAD_IN_PROGRESS',
    'CONCURRENT_TRANSACTIONS',
  ]) {
    for (const api of ['Heartbeat', 'SyncGroup', 'OffsetCommit', 'JoinGroup', 'AddPartitionsToTxn'])
      assert.equal(kafkajsLogLevel(response(api, type)), 'debug', `${api} ${type}`);
  }
  // Each text the module matches is one kafkajs really logs.
  for (const text of ROUTINE_PROTOCOL_ERRORS)
    assert.ok(
      errorCodes.some((e) => e.message.includes(text)),
      `"${text}" is a kafkajs protocol error message`,
    );
});

test('the group life kafkajs logs at warn or error is info: the rejoin, the restart, a crash from a rebalance', () => {
  const lines: KafkajsLogLine[] = [
    {
      level: logLevel.WARN,
      namespace: 'Runner',
      message: 'The group is rebalancing, re-joining',
      error: messageOf('REBALANCE_IN_PROGRESS'),
    },
    {
      level: logLevel.ERROR,
      namespace: 'Runner',
      message: 'The coordinator is not aware of this member, re-joining the group',
      error: messageOf('UNKNOWN_MEMBER_ID'),
    },
    { level: logLevel.ERROR, namespace: 'Consumer', message: 'Restarting the consumer in 300ms' },
    {
      level: logLevel.WARN,
      namespace: 'ConsumerGroup',
      message: 'Consumer is not aware of all assigned partitions, refreshing metadata',
    },
    {
      level: logLevel.ERROR,
      namespace: 'Consumer',
      message: `Crash: KafkaJSProtocolError: ${messageOf('REBALANCE_IN_PROGRESS')}`,
    },
  ];
  for (const line of lines) assert.equal(kafkajsLogLevel(line), 'info', line.message);
  // kafkajs's own info lines ("Consumer has joined the group", "Starting") stay below info.
  assert.equal(
    kafkajsLogLevel({ level: logLevel.INFO, namespace: 'ConsumerGroup', message: 'Consumer has joined the group' }),
    'debug',
  );
});

test('real problems keep their weight', () => {
  assert.equal(
    kafkajsLogLevel({
      level: logLevel.ERROR,
      namespace: 'Consumer',
      message: 'Crash: KafkaJSNonRetriableError: Topic authorization failed',
    }),
    'error',
  );
  assert.equal(kafkajsLogLevel(response('Produce', 'TOPIC_AUTHORIZATION_FAILED')), 'warn');
  assert.equal(
    kafkajsLogLevel({ level: logLevel.ERROR, namespace: 'BrokerPool', message: 'Failed to connect to seed broker' }),
    'error',
  );
  assert.equal(
    kafkajsLogLevel({
      level: logLevel.ERROR,
      namespace: 'ConsumerGroup',
      message: 'Offset out of range, resetting to default offset',
    }),
    'error',
  );
  assert.equal(
    kafkajsLogLevel({
      level: logLevel.WARN,
      namespace: 'Producer',
      message: 'Limiting retries for the idempotent producer may invalidate EoS guarantees',
    }),
    'warn',
  );
  assert.equal(kafkajsLogLevel({ level: logLevel.NOTHING, namespace: 'x', message: 'y' }), null);
});
