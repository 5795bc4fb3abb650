/** The aggregator service: built in its own issue. */
export const SERVICE_NAME = 'aggregator';
