// The child's side of e2e/harness/ipc-child.ts: `process` as a ProcessChannel, and test commands.

/** This process's IPC pipe to its parent as a ProcessChannel (libs/registry); sends after it closed are dropped. */
export function processChannel() {
  return {
    send: (message) => {
      if (process.connected) process.send(message);
    },
    onMessage(listener) {
      process.on("message", listener);
      return () => process.off("message", listener);
    },
    onClose(listener) {
      process.on("disconnect", listener);
      return () => process.off("disconnect", listener);
    },
  };
}

/**
 * Answers `{ onramp: "test", call, op, … }` with `commands[op](message)`, reporting a thrown
 * error's code and message; then tells the parent it is ready. Exits when the parent goes away.
 */
export function serveCommands(commands) {
  const channel = processChannel();
  channel.onMessage(async (message) => {
    if (message?.onramp !== "test" || typeof message.call !== "number") return;
    const command = commands[message.op];
    try {
      if (!command) throw new Error(`no command ${message.op}`);
      const value = await command(message);
      channel.send({ onramp: "test", reply: message.call, value });
    } catch (err) {
      channel.send({ onramp: "test", reply: message.call, error: { code: err?.code ?? "UNKNOWN", message: String(err?.message ?? err) } });
    }
  });
  channel.onClose(() => process.exit(0));
  channel.send({ onramp: "test", ready: true });
}
