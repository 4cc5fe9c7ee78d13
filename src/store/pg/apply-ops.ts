import type { SQL } from "bun";
import type { WriteOp } from "../write-ops.ts";

type Tx = SQL;

/** Whether an optional ticket field is to be set (undefined keeps it, null clears it). */
function given(v: string | null | undefined): boolean {
  return v !== undefined;
}

/** One write as SQL. The statements of a batch are sent without waiting for each answer (Bun pipelines them). */
function statement(tx: Tx, op: WriteOp): Promise<unknown> {
  switch (op.t) {
    case "call":
      return tx`INSERT INTO calls (id, uuid, transport, tenant, caller, dnis, peer, sample_rate, started_at, node_id, node_url)
        VALUES (${op.id}, ${op.uuid}, ${op.transport}, ${op.tenant}, ${op.caller}, ${op.dnis}, ${op.peer}, ${op.rate}, ${op.startedAt}, ${op.node}, ${op.nodeUrl})
        ON CONFLICT (id) DO NOTHING`;
    case "answered":
      return tx`UPDATE calls SET answered_at = ${op.at} WHERE id = ${op.id}`;
    case "caller":
      return tx`UPDATE calls SET caller = COALESCE(${op.caller}, caller), dnis = COALESCE(${op.dnis}, dnis) WHERE id = ${op.id}`;
    case "rate":
      return tx`UPDATE calls SET sample_rate = ${op.rate} WHERE id = ${op.id}`;
    case "recordings":
      return tx`UPDATE calls SET recordings = ${JSON.stringify(op.files)} WHERE id = ${op.id}`;
    case "end":
      return tx`UPDATE calls SET ended_at = ${op.at}, end_reason = ${op.reason}, end_detail = ${op.detail} WHERE id = ${op.id}`;
    case "turn":
      return tx`INSERT INTO turns (id, call_id, speaker, text, started_at, ended_at, interrupted, reply_id, llm_provider)
        VALUES (${op.id}, ${op.callId}, ${op.speaker}, ${op.text}, ${op.startedAt}, ${op.endedAt}, ${op.interrupted}, ${op.replyId}, ${op.provider})
        ON CONFLICT (id) DO NOTHING`;
    case "finish":
      return tx`UPDATE turns SET ended_at = ${op.endedAt}, interrupted = ${op.interrupted} WHERE id = ${op.id}`;
    case "timings": {
      const s = op.timings;
      return tx`UPDATE turns SET
        speech_end_at = COALESCE(${s.speechEndAt ?? null}, speech_end_at),
        stt_final_at = COALESCE(${s.sttFinalAt ?? null}, stt_final_at),
        llm_first_token_at = COALESCE(${s.llmFirstTokenAt ?? null}, llm_first_token_at),
        tts_first_byte_at = COALESCE(${s.ttsFirstByteAt ?? null}, tts_first_byte_at),
        first_frame_at = COALESCE(${s.firstFrameAt ?? null}, first_frame_at),
        last_frame_at = COALESCE(${s.lastFrameAt ?? null}, last_frame_at),
        barge_in_at = COALESCE(${s.bargeInAt ?? null}, barge_in_at)
        WHERE id = ${op.id}`;
    }
    case "reply":
      return tx`UPDATE turns SET reply_id = COALESCE(${op.replyId}, reply_id), llm_provider = COALESCE(${op.provider}, llm_provider) WHERE id = ${op.id}`;
    case "text":
      return tx`UPDATE turns SET text = ${op.text} WHERE id = ${op.id}`;
    case "event":
      return tx`INSERT INTO events (id, call_id, kind, detail, at) VALUES (${op.id}, ${op.callId}, ${op.kind}, ${op.detail}, ${op.at})
        ON CONFLICT (id) DO NOTHING`;
    case "ticket": {
      const f = op.fields;
      // The ticket takes its call's tenant, as on SQLite.
      return tx`INSERT INTO tickets (id, call_id, customer, phone, problem_type, description, status, created_at, updated_at, tenant)
        SELECT ${op.id}::bigint, ${op.callId}::bigint, ${f.customer ?? null}::text, ${f.phone ?? null}::text, ${f.problemType ?? null}::text,
          ${f.description ?? null}::text, 'open', ${op.at}::bigint, ${op.at}::bigint, tenant
        FROM calls WHERE id = ${op.callId}
        ON CONFLICT (id) DO NOTHING`;
    }
    case "ticket-update": {
      const f = op.fields;
      return tx`UPDATE tickets SET
        customer = CASE WHEN ${given(f.customer)}::boolean THEN ${f.customer ?? null}::text ELSE customer END,
        phone = CASE WHEN ${given(f.phone)}::boolean THEN ${f.phone ?? null}::text ELSE phone END,
        problem_type = CASE WHEN ${given(f.problemType)}::boolean THEN ${f.problemType ?? null}::text ELSE problem_type END,
        description = CASE WHEN ${given(f.description)}::boolean THEN ${f.description ?? null}::text ELSE description END,
        status = COALESCE(${op.status}::text, status),
        updated_at = ${op.at}
        WHERE id = ${op.id}`;
    }
  }
}

/** The writes of a batch in one transaction, in order: all of them or none. */
export async function applyOps(sql: SQL, ops: readonly WriteOp[]): Promise<void> {
  await sql.begin(async (tx) => {
    await Promise.all(ops.map((op) => statement(tx, op)));
  });
}
