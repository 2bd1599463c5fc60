/**
 * The audit_events schema as the release before (id, source) identity wrote
 * it, version 1 in schema_migrations, so the migration to the current schema
 * is tested on a database made by that release rather than by today's code.
 */

const COLUMNS_V1 = `
  time        TEXT NOT NULL,
  time_ms     INTEGER NOT NULL,
  type        TEXT NOT NULL,
  source      TEXT NOT NULL,
  service     TEXT,
  outcome     TEXT NOT NULL,
  actor       TEXT,
  client_ip   TEXT,
  session_id  TEXT,
  tenant      TEXT,
  message     TEXT,
  details     TEXT NOT NULL,
  origin      TEXT,
  raw         TEXT NOT NULL,
  received_at TEXT NOT NULL`;

export const SQLITE_SCHEMA_V1 = `
  CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL);
  INSERT INTO schema_migrations VALUES (1, 'audit_events table and search indexes', '2024-05-01T00:00:00.000Z');
  CREATE TABLE audit_events (id TEXT PRIMARY KEY, ${COLUMNS_V1});
  CREATE INDEX audit_events_time ON audit_events (time_ms DESC, id DESC);
  CREATE INDEX audit_events_type_time ON audit_events (type, time_ms DESC, id DESC);
  CREATE INDEX audit_events_actor_time ON audit_events (actor, time_ms DESC, id DESC);
  CREATE INDEX audit_events_session_time ON audit_events (session_id, time_ms DESC, id DESC);
`;

export const POSTGRES_SCHEMA_V1 = `
  CREATE TABLE schema_migrations (version integer PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());
  INSERT INTO schema_migrations (version, description) VALUES (1, 'audit_events table and search indexes');
  CREATE TABLE audit_events (
    id          text COLLATE "C" PRIMARY KEY,
    time        timestamptz NOT NULL,
    type        text NOT NULL,
    source      text NOT NULL,
    service     text,
    outcome     text NOT NULL,
    actor       text,
    client_ip   text,
    session_id  text,
    tenant      text,
    message     text,
    details     jsonb NOT NULL,
    origin      jsonb,
    raw         text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
  );
  CREATE INDEX audit_events_time ON audit_events (time DESC, id DESC);
  CREATE INDEX audit_events_type_time ON audit_events (type, time DESC, id DESC);
  CREATE INDEX audit_events_actor_time ON audit_events (actor, time DESC, id DESC);
  CREATE INDEX audit_events_session_time ON audit_events (session_id, time DESC, id DESC);
`;

/** Two rows as version 1 stored them: Foxpass event 42 and Blitz event 7. */
export const V1_ROWS = [
  { id: '42', time: '2024-05-01T10:00:00.000Z', type: 'ldap.bind', source: 'foxpass', outcome: 'success', actor: 'alice', details: '{"dn":"uid=alice"}', raw: '{"id":42}' },
  { id: '7', time: '2024-05-01T11:00:00.000Z', type: 'login', source: 'blitz', outcome: 'failure', actor: 'bob', details: '{}', raw: '{"id":"7"}' },
] as const;
