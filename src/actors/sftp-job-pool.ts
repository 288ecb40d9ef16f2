/**
 * Bounded concurrency for multi-file transfers. A tree walker submits one
 * job per file; `submit` waits for a free slot before it starts the job, so
 * the walker runs at most `size` files ahead of the transfers and memory
 * stays bounded by the pool size, not by the number of files in the tree.
 * Jobs report their own errors; a job that throws stops the pool: later
 * submits throw that error, and `drain` rethrows it once the running jobs
 * have settled.
 */
export class JobPool {
  private running = 0;
  private slotWaiters: Array<() => void> = [];
  private idleWaiters: Array<() => void> = [];
  private failed = false;
  private failure: unknown = null;

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`maxFiles: expected a positive integer, got ${size}`);
  }

  /** Throws the first job error, if any (the walker calls this between entries). */
  check(): void {
    if (this.failed) throw this.failure;
  }

  /**
   * Starts `job` once a slot is free; resolves (without waiting for the job)
   * with `done`, which settles when the job is done and never rejects. (A
   * wrapper object: a promise resolved with a promise would wait for it.)
   */
  async submit(job: () => Promise<void>): Promise<{ done: Promise<void> }> {
    this.check();
    while (this.running >= this.size) {
      await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
      this.check();
    }
    return { done: this.start(job) };
  }

  /** Runs `job` now, outside the slot limit (cheap follow-up work: directory attributes). */
  track(job: () => Promise<void>): Promise<void> {
    return this.start(job, false);
  }

  /** Resolves once every job has settled; throws the first job error. */
  async drain(): Promise<void> {
    await this.settle();
    this.check();
  }

  /** Resolves once every job has settled, whatever their outcome. */
  async settle(): Promise<void> {
    while (this.running > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private start(job: () => Promise<void>, slot = true): Promise<void> {
    this.running++;
    const done = (): void => {
      this.running--;
      if (slot || this.running < this.size) this.slotWaiters.shift()?.();
      if (this.running === 0) for (const w of this.idleWaiters.splice(0)) w();
    };
    return job().then(done, (e: unknown) => {
      if (!this.failed) {
        this.failed = true;
        this.failure = e;
      }
      done();
      for (const w of this.slotWaiters.splice(0)) w();
    });
  }
}

/**
 * Directory listings of one tree walk, `size` at once, so that files of
 * several directories are in flight together: creating files in one
 * directory is serialised by the file system (its directory lock), in
 * different directories it is not. A listing that finds a subdirectory
 * hands its listing here: started at once while fewer than `size` run,
 * queued (in order) up to `queueLimit`, and beyond that run by the caller
 * itself, inline, as a plain depth-first walk would (so memory stays bounded
 * however many directories the tree has). The first listing that throws
 * stops the queue; `done` rethrows it once the running listings settled.
 */
export class DirWalker {
  private running = 0;
  private readonly queued: Array<() => Promise<void>> = [];
  private failure: { error: unknown } | null = null;
  private idle: Array<() => void> = [];

  constructor(readonly size: number, readonly queueLimit = 256) {}

  /** Runs `list` now, later, or (when the queue is full) inline: resolves once it is started, queued, or done. */
  async add(list: () => Promise<void>): Promise<void> {
    this.check();
    if (this.running < this.size) this.start(list);
    else if (this.queued.length < this.queueLimit) this.queued.push(list);
    else await list();
  }

  /** Resolves once every listing has run (or, after a failure, every running one settled); throws the first failure. */
  async done(): Promise<void> {
    while (this.running > 0 || (this.queued.length > 0 && !this.failure)) await new Promise<void>((resolve) => this.idle.push(resolve));
    this.check();
  }

  private check(): void {
    if (this.failure) throw this.failure.error;
  }

  private start(list: () => Promise<void>): void {
    this.running++;
    list().catch((e: unknown) => {
      this.failure ??= { error: e };
    }).finally(() => {
      this.running--;
      const next = this.failure ? undefined : this.queued.shift();
      if (next) this.start(next);
      else if (this.running === 0) for (const w of this.idle.splice(0)) w();
    });
  }
}
