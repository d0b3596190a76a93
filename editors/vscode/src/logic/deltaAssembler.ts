/**
 * Puts hermes/chatDelta pieces back in `seq` order. hermesd sends them in
 * order with no gaps, but nothing in JSON-RPC promises delivery order to a
 * handler, so a piece that arrives early waits for its predecessors.
 */
import { ChatDelta } from '../protocol';

export interface Appended {
  text: string;
  reasoning: string;
}

export class DeltaAssembler {
  private requestId: number | string | undefined;
  private nextSeq = 0;
  private readonly pending = new Map<number, ChatDelta>();

  /** Text and reasoning that became contiguous with this delta ("" if none). */
  push(delta: ChatDelta): Appended {
    if (this.requestId !== delta.requestId) {
      // A new request in the same session starts its own sequence.
      this.requestId = delta.requestId;
      this.nextSeq = 0;
      this.pending.clear();
    }
    const out: Appended = { text: '', reasoning: '' };
    if (!Number.isInteger(delta.seq) || delta.seq < this.nextSeq || this.pending.has(delta.seq)) {
      return out; // duplicate or malformed
    }
    this.pending.set(delta.seq, delta);
    for (let next = this.pending.get(this.nextSeq); next; next = this.pending.get(this.nextSeq)) {
      this.pending.delete(this.nextSeq);
      this.nextSeq += 1;
      out.text += next.text ?? '';
      out.reasoning += next.reasoning ?? '';
    }
    return out;
  }

  /** Pieces still waiting for an earlier seq. */
  get waiting(): number {
    return this.pending.size;
  }
}
