/**
 * The pino level of a kafkajs log entry. kafkajs logs a consumer group's routine life loudly:
 * every failed response of a connection at ERROR (a heartbeat answered "The group is
 * rebalancing, so a rejoin is needed" each time a member joins), the rejoin that follows at
 * WARN, and the restart after a retriable crash at ERROR. Those are how a group works, not
 * problems: group events are info, the protocol answers behind them debug. Anything else keeps
 * its weight; failures that matter also surface as thrown errors and consumer CRASH events.
 *
 * The texts are kafkajs 2.2's: the protocol error messages of `kafkajs/src/protocol/error.js`
 * (the test checks them against that table) and the log messages of `kafkajs/src/consumer/`.
 */
import { logLevel } from 'kafkajs';

export type KafkajsPinoLevel = 'error' | 'warn' | 'info' | 'debug';

/** What the logCreator gets, flattened: kafkajs's level and namespace, its message and the `error` field of its extra. */
export interface KafkajsLogLine {
  level: logLevel;
  namespace: string;
  message: string;
  error?: unknown;
}

/**
 * Broker answers that kafkajs handles by rejoining, retrying or finding the coordinator again
 * (error types REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, MEMBER_ID_REQUIRED,
 * NOT_COORDINATOR_FOR_GROUP, GROUP_COORDINATOR_NOT_AVAILABLE, GROUP_LOAD_IN_PROGRESS and, for
 * transactions, CONCURRENT_TRANSACTIONS: a transaction begun while the broker still writes the
 * previous one's markers).
 */
export const ROUTINE_PROTOCOL_ERRORS: readonly string[] = [
  'The group is rebalancing, so a rejoin is needed',
  'Specified group generation id is not valid',
  'The coordinator is not aware of this member',
  'The group member needs to have a valid member id before actually entering a consumer group',
  'This is not the correct coordinator for this group',
  'The group coordinator is not available',
  "The coordinator is loading and hence can't process requests for this group",
  'concurrent operation on the same transaction',
];

/** Group events kafkajs logs at WARN or ERROR although it recovers by itself (the rejoin, the restart). */
const GROUP_EVENTS: readonly RegExp[] = [
  /^The group is rebalancing, re-joining/,
  /^The coordinator is not aware of this member, re-joining the group/,
  /^Restarting the consumer in \d+ms/,
  /^Consumer is not aware of all assigned partitions, refreshing metadata/,
  /, resync group$/,
];

/** The pino level to log a kafkajs entry at, or null for none. */
export function kafkajsLogLevel(line: KafkajsLogLine): KafkajsPinoLevel | null {
  if (line.level === logLevel.NOTHING) return null;
  if (line.level === logLevel.DEBUG) return 'debug';
  if (line.level === logLevel.INFO) return 'debug';
  const routineAnswer = ROUTINE_PROTOCOL_ERRORS.some(
    (text) => line.message.includes(text) || String(line.error ?? '').includes(text),
  );
  if (GROUP_EVENTS.some((re) => re.test(line.message))) return 'info';
  // A consumer restarted because of a rebalance ("Crash: KafkaJSProtocolError: The group is rebalancing, ...").
  if (line.message.startsWith('Crash: ')) return routineAnswer ? 'info' : 'error';
  if (routineAnswer) return 'debug';
  if (line.level === logLevel.ERROR) return line.namespace === 'Connection' ? 'warn' : 'error';
  return 'warn';
}
