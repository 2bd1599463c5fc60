import type { AuditEvent } from '../../src/core/event.js';
import { newEventId } from '../../src/core/ids.js';

/** An event with every optional field set; `overrides` replaces any of them. */
export function makeEvent(overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    id: newEventId(),
    time: '2024-05-01T12:00:00.000Z',
    type: 'login',
    source: 'blitz',
    service: 'idp',
    outcome: 'success',
    actor: 'alice',
    clientIp: '192.0.2.10',
    sessionId: 'sess-1',
    tenant: 'acme',
    message: 'User alice logged in',
    details: { method: 'password', attempts: 1, nested: { ok: true, list: [1, 'two', null] } },
    origin: { shard: 'shardId-000000000001' },
    raw: '{"type":"login","subject":"alice","note":"quotes \\" and ünicode"}',
    ...overrides,
  };
}

/** `n` events one second apart, oldest first, starting at `startIso`. */
export function eventSeries(n: number, startIso = '2024-05-01T00:00:00.000Z', overrides: Partial<AuditEvent> = {}): AuditEvent[] {
  const start = Date.parse(startIso);
  return Array.from({ length: n }, (_, i) => makeEvent({ time: new Date(start + i * 1000).toISOString(), ...overrides }));
}
