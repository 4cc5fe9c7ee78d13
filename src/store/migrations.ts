/**
 * The schema, as an ordered list of steps. A step, once released, never changes: later issues
 * append new versions. Each step runs in its own transaction together with its schema_migrations row.
 *
 * Ticket statuses are checked in code (tickets.ts), not by a CHECK constraint, so a later status
 * needs no table rebuild. Call UUIDs are not unique: dialplans often hard-code one. Ticket ids are
 * the numbers read to callers, so AUTOINCREMENT keeps them from ever being reused.
 */
export interface Migration {
  readonly version: number;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
CREATE TABLE calls (
  id          INTEGER PRIMARY KEY,
  uuid        TEXT    NOT NULL COLLATE NOCASE,
  transport   TEXT    NOT NULL,
  tenant      TEXT    NOT NULL,
  caller      TEXT,
  peer        TEXT    NOT NULL,
  sample_rate INTEGER NOT NULL,
  started_at  INTEGER NOT NULL,
  answered_at INTEGER,
  ended_at    INTEGER,
  end_reason  TEXT,
  end_detail  TEXT,
  recordings  TEXT    NOT NULL DEFAULT '[]'
);
CREATE INDEX calls_started ON calls(started_at DESC, id DESC);
CREATE INDEX calls_uuid ON calls(uuid);
CREATE INDEX calls_unfinished ON calls(id) WHERE ended_at IS NULL;

CREATE TABLE turns (
  id          INTEGER PRIMARY KEY,
  call_id     INTEGER NOT NULL REFERENCES calls(id),
  speaker     TEXT    NOT NULL CHECK (speaker IN ('bot', 'caller')),
  text        TEXT    NOT NULL,
  started_at  INTEGER NOT NULL,
  ended_at    INTEGER,
  interrupted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX turns_call ON turns(call_id, started_at);

CREATE TABLE tickets (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  call_id      INTEGER NOT NULL REFERENCES calls(id),
  customer     TEXT,
  phone        TEXT,
  problem_type TEXT,
  description  TEXT,
  status       TEXT    NOT NULL,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
);
CREATE INDEX tickets_call ON tickets(call_id);
CREATE INDEX tickets_status ON tickets(status, id DESC);

CREATE TABLE events (
  id      INTEGER PRIMARY KEY,
  call_id INTEGER REFERENCES calls(id),
  kind    TEXT    NOT NULL,
  detail  TEXT,
  at      INTEGER NOT NULL
);
CREATE INDEX events_call ON events(call_id, at);
`,
  },
  {
    // Per-turn latency stamps (epoch ms), all nullable: a keypad call has none, and a turn cut
    // short keeps the ones it reached. A caller turn carries speech end and STT final; its bot
    // reply the rest. reply_id ties the two together: the dialog's id of the reply.
    version: 2,
    sql: `
ALTER TABLE turns ADD COLUMN speech_end_at INTEGER;
ALTER TABLE turns ADD COLUMN stt_final_at INTEGER;
ALTER TABLE turns ADD COLUMN llm_first_token_at INTEGER;
ALTER TABLE turns ADD COLUMN tts_first_byte_at INTEGER;
ALTER TABLE turns ADD COLUMN first_frame_at INTEGER;
ALTER TABLE turns ADD COLUMN last_frame_at INTEGER;
ALTER TABLE turns ADD COLUMN barge_in_at INTEGER;
ALTER TABLE turns ADD COLUMN llm_provider TEXT;
ALTER TABLE turns ADD COLUMN reply_id INTEGER;
`,
  },
  {
    // The number dialled (from the PBX's metadata or the dialplan's registration), and the tenant
    // on each ticket so one company's tickets are listed without joining its calls.
    version: 3,
    sql: `
ALTER TABLE calls ADD COLUMN dnis TEXT;
ALTER TABLE tickets ADD COLUMN tenant TEXT NOT NULL DEFAULT 'default';
UPDATE tickets SET tenant = (SELECT tenant FROM calls WHERE calls.id = tickets.call_id);
CREATE INDEX tickets_tenant ON tickets(tenant, id DESC);
`,
  },
  {
    // The web console (issue #13): history filters by tenant, caller and end reason stay index
    // scans in date order; "what was said" is searched through FTS5 over turn texts (kept in step
    // by triggers, only when a text changes, never on the per-turn timing updates); and every edit
    // of a ticket from the console is kept with who made it and when.
    version: 4,
    sql: `
CREATE INDEX calls_tenant_started ON calls(tenant, started_at DESC, id DESC);
CREATE INDEX calls_caller_started ON calls(caller, started_at DESC, id DESC);
CREATE INDEX calls_reason_started ON calls(end_reason, started_at DESC, id DESC);
CREATE INDEX tickets_problem ON tickets(problem_type, id DESC);

CREATE VIRTUAL TABLE turns_fts USING fts5(text, content='turns', content_rowid='id', tokenize='unicode61 remove_diacritics 2');
INSERT INTO turns_fts(turns_fts) VALUES ('rebuild');
CREATE TRIGGER turns_fts_insert AFTER INSERT ON turns BEGIN
  INSERT INTO turns_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER turns_fts_text AFTER UPDATE OF text ON turns BEGIN
  INSERT INTO turns_fts(turns_fts, rowid, text) VALUES ('delete', old.id, old.text);
  INSERT INTO turns_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER turns_fts_delete AFTER DELETE ON turns BEGIN
  INSERT INTO turns_fts(turns_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;

ALTER TABLE tickets ADD COLUMN notes TEXT;
ALTER TABLE tickets ADD COLUMN assignee TEXT;
CREATE TABLE ticket_changes (
  id         INTEGER PRIMARY KEY,
  ticket_id  INTEGER NOT NULL REFERENCES tickets(id),
  field      TEXT    NOT NULL,
  old_value  TEXT,
  new_value  TEXT,
  by         TEXT    NOT NULL,
  at         INTEGER NOT NULL
);
CREATE INDEX ticket_changes_ticket ON ticket_changes(ticket_id, id);
`,
  },
  {
    // Several appliances may share one store (issue #15): each call says which appliance took it
    // (NODE_ID) and the admin address its recordings are fetched from (NODE_URL).
    version: 5,
    sql: `
ALTER TABLE calls ADD COLUMN node_id TEXT;
ALTER TABLE calls ADD COLUMN node_url TEXT;
`,
  },
  {
    // Indexing a turn's text for search costs as much as the rest of its row, and serve adds turns
    // on the call path (a thousand callers pressing a key together): texts are now indexed after
    // the fact (search-index.ts), so a turn says whether its text is in turns_fts yet. The triggers
    // that remain keep indexed texts in step when they change or go.
    version: 6,
    sql: `
DROP TRIGGER turns_fts_insert;
DROP TRIGGER turns_fts_text;
DROP TRIGGER turns_fts_delete;
ALTER TABLE turns ADD COLUMN text_indexed INTEGER NOT NULL DEFAULT 0;
UPDATE turns SET text_indexed = 1;
CREATE INDEX turns_unindexed ON turns(id) WHERE text_indexed = 0;
CREATE TRIGGER turns_fts_text AFTER UPDATE OF text ON turns WHEN old.text_indexed = 1 BEGIN
  INSERT INTO turns_fts(turns_fts, rowid, text) VALUES ('delete', old.id, old.text);
  INSERT INTO turns_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER turns_fts_delete AFTER DELETE ON turns WHEN old.text_indexed = 1 BEGIN
  INSERT INTO turns_fts(turns_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
`,
  },
];
