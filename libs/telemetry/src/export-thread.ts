import type { Resource } from "@opentelemetry/resources";
import { BatchSpanProcessor, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import { Worker } from "node:worker_threads";
import type { OtlpProtocol } from "./otlp-exporters.js";
import type { SpanSink } from "./recorded-span.js";
import { receiveSpan, transferResource, type TransferredResource, type TransferredSpan } from "./span-transfer.js";

/** How long a finished span waits for others to share its message to the export thread. */
const SEND_INTERVAL_MS = 50;
/** Sent at once when this many spans are waiting (a message's size stays bounded). */
const MAX_QUEUED = 512;

export interface ExportThreadData {
  protocol: OtlpProtocol;
  resource: TransferredResource;
}

export type ExportThreadRequest =
  /** Finished spans, for the thread's batch processor. */
  | { kind: "spans"; spans: TransferredSpan[] }
  | { kind: "flush" | "shutdown"; id: number };

export interface ExportThreadReply {
  id: number;
  /** Why the flush or shutdown failed; undefined when it did not. */
  error: string | undefined;
}

/**
 * Hands finished spans to a thread of its own, where OpenTelemetry's BatchSpanProcessor and OTLP
 * exporter batch, encode and send them (configured by the standard variables, `OTEL_BSP_*` too).
 *
 * Batching and sending in the thread that serves requests cost more than recording the spans: at
 * 1% sampling and 10,000 requests/s, about 4 µs of CPU per request in each of edge and agent.
 * Spans waited up to 5 s for their batch, long enough to be promoted to the old generation, and
 * each export's HTTP or gRPC client reshaped Node's stream code the request path runs, which V8
 * then compiled again. Here the serving thread collects finished spans for up to SEND_INTERVAL_MS
 * (or MAX_QUEUED spans) and sends them in one message (structured cloning, in C++), so they still
 * die young. A message per event-loop turn, as before, took 2–3 µs per request in each process's
 * profile at 1% sampling and 3,000 requests/s: each wakes the thread, for a span or two.
 */
export class ExportThread implements SpanSink {
  private readonly worker: Worker;
  private queued: TransferredSpan[] = [];
  private sendTimer: NodeJS.Timeout | undefined;
  private readonly pending = new Map<number, (reply: ExportThreadReply) => void>();
  private nextId = 0;
  /** Why the thread is gone, once it is: spans are dropped and flushes fail at once. */
  private gone: string | undefined;

  /** `env` is the thread's `process.env`: its exporter and batch processor read their variables there. */
  constructor(protocol: OtlpProtocol, resource: Resource, env: NodeJS.ProcessEnv) {
    const workerData: ExportThreadData = { protocol, resource: transferResource(resource) };
    this.worker = new Worker(new URL("./span-export-thread.js", import.meta.url), { workerData, env });
    // Idle or sending, the thread keeps no process alive; a flush or shutdown waited for does (see `request`).
    this.worker.unref();
    this.worker.on("message", (reply: ExportThreadReply) => this.settle(reply));
    this.worker.on("error", (err) => this.end(`the span export thread failed: ${err.message}`));
    this.worker.on("exit", (code) => this.end(`the span export thread exited (code ${code})`));
  }

  add(span: TransferredSpan): void {
    if (this.gone !== undefined) return;
    this.queued.push(span);
    if (this.queued.length >= MAX_QUEUED) this.send();
    else if (this.sendTimer === undefined) this.sendTimer = setTimeout(() => this.send(), SEND_INTERVAL_MS).unref();
  }

  async forceFlush(): Promise<void> {
    const reply = await this.request("flush");
    if (reply.error !== undefined) throw new Error(reply.error);
  }

  async shutdown(): Promise<void> {
    if (this.gone === undefined) await this.request("shutdown");
    await this.worker.terminate();
  }

  private send(): void {
    clearTimeout(this.sendTimer);
    this.sendTimer = undefined;
    if (this.queued.length === 0 || this.gone !== undefined) return;
    const spans = this.queued;
    this.queued = [];
    try {
      this.worker.postMessage({ kind: "spans", spans } satisfies ExportThreadRequest);
    } catch {
      // A value structured cloning cannot copy (an attribute set by an embedder): these spans are
      // lost, as a failed export's are.
    }
  }

  /** Sends what is queued, then `kind`; resolves with the thread's reply (a failed one if it is gone). */
  private request(kind: "flush" | "shutdown"): Promise<ExportThreadReply> {
    const id = ++this.nextId;
    if (this.gone !== undefined) return Promise.resolve({ id, error: this.gone });
    this.send();
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.worker.ref();
      this.worker.postMessage({ kind, id } satisfies ExportThreadRequest);
    });
  }

  private settle(reply: ExportThreadReply): void {
    const resolve = this.pending.get(reply.id);
    if (!resolve) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker.unref();
    resolve(reply);
  }

  private end(why: string): void {
    this.gone ??= why;
    this.queued = [];
    for (const id of [...this.pending.keys()]) this.settle({ id, error: this.gone });
  }
}

/** The SDK's BatchSpanProcessor and `exporter` in this thread (embedders, tests). */
export class InThreadExport implements SpanSink {
  private readonly batches: BatchSpanProcessor;

  constructor(
    exporter: SpanExporter,
    private readonly resource: Resource,
  ) {
    this.batches = new BatchSpanProcessor(exporter);
  }

  add(span: TransferredSpan): void {
    this.batches.onEnd(receiveSpan(span, this.resource));
  }

  forceFlush(): Promise<void> {
    return this.batches.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.batches.shutdown();
  }
}
