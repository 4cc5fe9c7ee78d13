/**
 * The schema in PostgreSQL: the same numbered steps as ../migrations.ts (SQLite), written in this
 * dialect. A step, once released, never changes; a new version is added to both lists at once.
 *
 * Times and ids are BIGINT (epoch ms, ids beyond 2^31 over years of a fleet). Each id column has
 * its own sequence (`<table>_id_seq`, from BIGSERIAL) and also takes explicit ids: a writer
 * reserves ids with `SELECT nextval('calls_id_seq') FROM generate_series(1, n)` and inserts them
 * with ON CONFLICT (id) DO NOTHING, so a replayed write is harmless. Ticket ids are the numbers
 * read to callers, drawn from one sequence for every appliance: never reused, never shared.
 *
 * Text search (version 4) is PostgreSQL's own full text search over a GIN index: the 'simple'
 * configuration (no stemming, as FTS5's unicode61) on the text folded by voicebot_fold(): lower
 * case, no accents, and the marks that join words into one token for PostgreSQL's parser (e-mail
 * addresses, dotted numbers, URLs) made spaces, so every run of letters and digits is a word of its
 * own as in FTS5. Plain SQL, so no extension (unaccent needs one) and no locale is involved.
 */
import type { Migration } from "../migrations.ts";

/** Letters with accents → without, as FTS5's remove_diacritics: the Latin ones callers' languages use. */
const ACCENTED = "àáâãäåāăąçćčďèéêëēĕėęěìíîïĩīįłñńňòóôõöøōőùúûüũūůűųýÿžźż";
const PLAIN = "aaaaaaaaacccdeeeeeeeeeiiiiiiilnnnoooooooouuuuuuuuuyyzzz";
/** What PostgreSQL's parser keeps inside a token and FTS5 splits on ("06.12.34", "a@b.fr", "+33…", "10:30"). */
const JOINERS = "./@:_+-,#=~%&";

export const PG_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
CREATE TABLE calls (
  id          BIGSERIAL PRIMARY KEY,
  uuid        TEXT    NOT NULL,
  transport   TEXT    NOT NULL,
  tenant      TEXT    NOT NULL,
  caller      TEXT,
  peer        TEXT    NOT NULL,
  sample_rate INTEGER NOT NULL,
  started_at  BIGINT  NOT NULL,
  answered_at BIGINT,
  ended_at    BIGINT,
  end_reason  TEXT,
  end_detail  TEXT,
  recordings  TEXT    NOT NULL DEFAULT '[]'
);
CREATE INDEX calls_started ON calls(started_at DESC, id DESC);
CREATE INDEX calls_uuid ON calls(lower(uuid));
CREATE INDEX calls_unfinished ON calls(id) WHERE ended_at IS NULL;

CREATE TABLE turns (
  id          BIGSERIAL PRIMARY KEY,
  call_id     BIGINT  NOT NULL REFERENCES calls(id),
  speaker     TEXT    NOT NULL CHECK (speaker IN ('bot', 'caller')),
  text        TEXT    NOT NULL,
  started_at  BIGINT  NOT NULL,
  ended_at    BIGINT,
  interrupted BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX turns_call ON turns(call_id, started_at);

CREATE TABLE tickets (
  id           BIGSERIAL PRIMARY KEY,
  call_id      BIGINT NOT NULL REFERENCES calls(id),
  customer     TEXT,
  phone        TEXT,
  problem_type TEXT,
  description  TEXT,
  status       TEXT   NOT NULL,
  created_at   BIGINT NOT NULL,
  updated_at   BIGINT NOT NULL
);
CREATE INDEX tickets_call ON tickets(call_id);
CREATE INDEX tickets_status ON tickets(status, id DESC);

CREATE TABLE events (
  id      BIGSERIAL PRIMARY KEY,
  call_id BIGINT REFERENCES calls(id),
  kind    TEXT   NOT NULL,
  detail  TEXT,
  at      BIGINT NOT NULL
);
CREATE INDEX events_call ON events(call_id, at);
`,
  },
  {
    version: 2,
    sql: `
ALTER TABLE turns ADD COLUMN speech_end_at BIGINT;
ALTER TABLE turns ADD COLUMN stt_final_at BIGINT;
ALTER TABLE turns ADD COLUMN llm_first_token_at BIGINT;
ALTER TABLE turns ADD COLUMN tts_first_byte_at BIGINT;
ALTER TABLE turns ADD COLUMN first_frame_at BIGINT;
ALTER TABLE turns ADD COLUMN last_frame_at BIGINT;
ALTER TABLE turns ADD COLUMN barge_in_at BIGINT;
ALTER TABLE turns ADD COLUMN llm_provider TEXT;
ALTER TABLE turns ADD COLUMN reply_id BIGINT;
`,
  },
  {
    version: 3,
    sql: `
ALTER TABLE calls ADD COLUMN dnis TEXT;
ALTER TABLE tickets ADD COLUMN tenant TEXT NOT NULL DEFAULT 'default';
UPDATE tickets SET tenant = (SELECT tenant FROM calls WHERE calls.id = tickets.call_id);
CREATE INDEX tickets_tenant ON tickets(tenant, id DESC);
`,
  },
  {
    // "by" is a reserved word in PostgreSQL: the column keeps its name, quoted.
    version: 4,
    sql: `
CREATE INDEX calls_tenant_started ON calls(tenant, started_at DESC, id DESC);
CREATE INDEX calls_caller_started ON calls(caller, started_at DESC, id DESC);
CREATE INDEX calls_reason_started ON calls(end_reason, started_at DESC, id DESC);
CREATE INDEX tickets_problem ON tickets(problem_type, id DESC);

CREATE FUNCTION voicebot_fold(t TEXT) RETURNS TEXT LANGUAGE SQL IMMUTABLE STRICT PARALLEL SAFE
  AS $$ SELECT translate(lower(t), '${ACCENTED}${JOINERS}', '${PLAIN}${" ".repeat(JOINERS.length)}') $$;
CREATE INDEX turns_text_search ON turns USING GIN (to_tsvector('simple'::regconfig, voicebot_fold(text)));

ALTER TABLE tickets ADD COLUMN notes TEXT;
ALTER TABLE tickets ADD COLUMN assignee TEXT;
CREATE TABLE ticket_changes (
  id         BIGSERIAL PRIMARY KEY,
  ticket_id  BIGINT NOT NULL REFERENCES tickets(id),
  field      TEXT   NOT NULL,
  old_value  TEXT,
  new_value  TEXT,
  "by"       TEXT   NOT NULL,
  at         BIGINT NOT NULL
);
CREATE INDEX ticket_changes_ticket ON ticket_changes(ticket_id, id);
`,
  },
  {
    // Which appliance took the call, and its admin address; recent writers by node (doctor's check).
    version: 5,
    sql: `
ALTER TABLE calls ADD COLUMN node_id TEXT;
ALTER TABLE calls ADD COLUMN node_url TEXT;
CREATE INDEX calls_node_unfinished ON calls(node_id) WHERE ended_at IS NULL;
`,
  },
  {
    // SQLite's version 6 moves turn-text indexing off the call path; here the writes already leave
    // the event loop (write-queue.ts) and the GIN index is PostgreSQL's to keep, so only the schema
    // version moves, with a note on the index.
    version: 6,
    sql: `
COMMENT ON INDEX turns_text_search IS 'what was said, kept by PostgreSQL on each write (SQLite indexes turn texts after the call path)';
`,
  },
];
