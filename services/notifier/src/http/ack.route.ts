/**
 * `POST /v1/alerts/{id}/ack` (admin token): someone takes an alert episode on. `{id}` is the
 * episode's `dedupKey` or the `alertId` of one of its state changes (both are in `/v1/alerts`
 * and in every notification). Kept in `alert_acks` (who, when, note); `/v1/alerts` shows the
 * newest acknowledgement of each episode.
 */
import { canAdmin, errorResponses, principalOf, requireAdmin } from '@meterstream/core';
import type { FastifyInstance, FastifySchema } from 'fastify';
import type { AcksStore } from '../state/acks.store.js';

const ACK = {
  type: 'object',
  properties: {
    dedupKey: { type: 'string' },
    alertId: { type: 'string' },
    by: { type: 'string' },
    at: { type: 'string', format: 'date-time' },
    note: { type: 'string' },
  },
} as const;

/** A route schema with OpenAPI's `tags` and `summary` (@fastify/swagger, installed by core's server). */
const documented = (schema: FastifySchema & { tags: string[]; summary: string }): FastifySchema => schema;

export function registerAckRoute(app: FastifyInstance, deps: { acks: AcksStore }): void {
  app.post<{ Params: { id: string }; Body: { by: string; note?: string } }>(
    '/v1/alerts/:id/ack',
    {
      onRequest: requireAdmin,
      schema: documented({
        tags: ['alerts'],
        summary: 'Acknowledge an alert episode (who, when, note)',
        params: {
          type: 'object',
          required: ['id'],
          properties: { id: { type: 'string', minLength: 1, maxLength: 200, description: 'dedupKey or alertId' } },
        },
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['by'],
          properties: {
            by: { type: 'string', minLength: 1, maxLength: 200, description: 'Who takes it on' },
            note: { type: 'string', maxLength: 2000, default: '' },
          },
        },
        response: {
          201: { description: 'The acknowledgement', ...ACK },
          ...errorResponses({
            400: 'Bad body',
            401: 'Missing or unknown bearer token',
            403: 'A read token (admin or operator needed), or no token configured at all',
            404: "No alert with this dedupKey or alertId among the token's tenants",
          }),
        },
      }),
    },
    async (req, reply) => {
      const ref = await deps.acks.find(req.params.id);
      if (ref === null || !canAdmin(principalOf(req), ref.tenant))
        return reply.status(404).send({ error: 'no such alert', code: 'NOT_FOUND' });
      const ack = { by: req.body.by, note: req.body.note ?? '', at: Date.now() };
      await deps.acks.ack(ref, ack);
      return reply.status(201).send({
        dedupKey: ref.dedupKey,
        alertId: ref.alertId,
        by: ack.by,
        at: new Date(ack.at).toISOString(),
        note: ack.note,
      });
    },
  );
}
