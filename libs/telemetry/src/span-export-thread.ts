// The export thread's entry (see ExportThread): OpenTelemetry's batch processor and OTLP
// exporter, fed the spans the serving thread hands over, on an event loop and a heap of their own.
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { parentPort, workerData } from "node:worker_threads";
import { otlpExporter } from "./otlp-exporters.js";
import { receiveSpan } from "./span-transfer.js";
import type { ExportThreadData, ExportThreadReply, ExportThreadRequest } from "./export-thread.js";

const port = parentPort;
if (!port) throw new Error("span-export-thread runs as a worker thread (ExportThread starts it)");
const { protocol, resource: given } = workerData as ExportThreadData;
// Reads OTEL_BSP_* (delay, queue and batch sizes, timeout) as it would in the serving thread.
const batches = new BatchSpanProcessor(otlpExporter(protocol));
const resource = resourceFromAttributes(given.attributes, { schemaUrl: given.schemaUrl });

const reply = (message: ExportThreadReply) => port.postMessage(message);

port.on("message", (request: ExportThreadRequest) => {
  if (request.kind === "spans") {
    for (const span of request.spans) batches.onEnd(receiveSpan(span, resource));
    return;
  }
  const done = request.kind === "flush" ? batches.forceFlush() : batches.shutdown();
  done.then(
    () => reply({ id: request.id, error: undefined }),
    (err: unknown) => reply({ id: request.id, error: err instanceof Error ? err.message : String(err) }),
  );
});
