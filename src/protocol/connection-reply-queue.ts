/**
 * Replies to incoming requests (global or per channel) must go out in the
 * order the requests arrived (RFC 4254 §4, §5.4), even when the application
 * answers them out of order. Each request that wants a reply gets a sequence
 * number; answers are held until every earlier request has been answered.
 */
export interface ReplyAnswer {
  ok: boolean;
  data?: Uint8Array;
}

interface Entry {
  seq: number;
  answer: ReplyAnswer | null;
}

export class ReplyQueue {
  private entries: Entry[] = [];
  private counter = 0;

  /**
   * `allocateSeq` lets several queues share one sequence space, so that a
   * late answer meant for a closed channel never matches a request on a new
   * channel that reuses its id.
   */
  constructor(private readonly allocateSeq: () => number = () => this.counter++) {}

  get pending(): number {
    return this.entries.length;
  }

  /** Registers a request that wants a reply; `answer` pre-answers it (automatic replies). */
  push(answer: ReplyAnswer | null = null): number {
    const seq = this.allocateSeq();
    this.entries.push({ seq, answer });
    return seq;
  }

  /**
   * Answers request `seq` (default: the oldest unanswered one). Returns false
   * when there is no such unanswered request.
   */
  answer(answer: ReplyAnswer, seq?: number): boolean {
    const entry =
      seq === undefined ? this.entries.find((e) => e.answer === null) : this.entries.find((e) => e.seq === seq);
    if (!entry || entry.answer !== null) return false;
    entry.answer = answer;
    return true;
  }

  /** Removes and returns the answers that may be sent now, in request order. */
  drain(): ReplyAnswer[] {
    const out: ReplyAnswer[] = [];
    while (this.entries.length > 0 && this.entries[0]!.answer !== null) out.push(this.entries.shift()!.answer!);
    return out;
  }

  clear(): void {
    this.entries = [];
  }
}
