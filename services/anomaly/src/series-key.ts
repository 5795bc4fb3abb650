/** The key of one series (tenant, meter, kind) in the detector state and the replays. */
export const seriesKey = (s: { tenant: string; meter: string; kind: string }): string =>
  `${s.tenant}\u001f${s.meter}\u001f${s.kind}`;
