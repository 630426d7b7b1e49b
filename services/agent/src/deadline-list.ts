/**
 * Deadlines that all have the same length, on one timer: entries expire in the order they were
 * added, so the list is a FIFO, and a finished entry leaves it in O(1) because the links live in
 * the entry itself. One Node timer per request (a Timeout object, its closure and list links) was
 * a tenth of the agent's garbage per request; this allocates nothing per entry.
 */
export interface DeadlineEntry {
  /** When the entry expires (performance.now() ms); set by the list. */
  deadline: number;
  /** Links, owned by the list; undefined while the entry is not in one. */
  previousDeadline: DeadlineEntry | undefined;
  nextDeadline: DeadlineEntry | undefined;
  /** Whether the entry is in a list; owned by the list. */
  deadlineArmed: boolean;
  /** Called once when the deadline passes while the entry is still in the list. */
  expired(): void;
}

export class DeadlineList {
  private head: DeadlineEntry | undefined;
  private tail: DeadlineEntry | undefined;
  /** Set for the head's deadline when it was armed; it may fire early (its entry removed since). */
  private timer: NodeJS.Timeout | undefined;

  constructor(readonly durationMs: number) {}

  add(entry: DeadlineEntry): void {
    if (entry.deadlineArmed) this.remove(entry);
    entry.deadline = performance.now() + this.durationMs;
    entry.deadlineArmed = true;
    entry.previousDeadline = this.tail;
    entry.nextDeadline = undefined;
    if (this.tail) this.tail.nextDeadline = entry;
    else this.head = entry;
    this.tail = entry;
    if (!this.timer) this.arm(entry.deadline);
  }

  remove(entry: DeadlineEntry): void {
    if (!entry.deadlineArmed) return;
    entry.deadlineArmed = false;
    const { previousDeadline: prev, nextDeadline: next } = entry;
    if (prev) prev.nextDeadline = next;
    else this.head = next;
    if (next) next.previousDeadline = prev;
    else this.tail = prev;
    entry.previousDeadline = entry.nextDeadline = undefined;
    if (!this.head && this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  /** Entries in the list, for tests. */
  get size(): number {
    let n = 0;
    for (let e = this.head; e; e = e.nextDeadline) n++;
    return n;
  }

  private arm(at: number): void {
    this.timer = setTimeout(fire, Math.max(0, at - performance.now()), this);
    // The list never keeps the process alive: the exchanges it times do.
    this.timer.unref();
  }

  /** Expires every entry whose deadline passed, then waits for the next one. */
  fire(): void {
    this.timer = undefined;
    const now = performance.now();
    while (this.head && this.head.deadline <= now) {
      const entry = this.head;
      this.remove(entry);
      entry.expired();
    }
    if (this.head && !this.timer) this.arm(this.head.deadline);
  }
}

function fire(list: DeadlineList): void {
  list.fire();
}
