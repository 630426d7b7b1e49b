import { describe, expect, it } from "vitest";
import { fit, fitLine, paint, plainText, printable, span, truncate, widthOf } from "./terminal-text.js";

describe("terminal text", () => {
  it("measures wide characters as two columns", () => {
    expect(widthOf("abc")).toBe(3);
    expect(widthOf("日本")).toBe(4);
    expect(widthOf("é")).toBe(1);
  });

  it("cuts to a width with an ellipsis, and pads", () => {
    expect(truncate("abcdef", 4)).toBe("abc…");
    expect(truncate("abc", 4)).toBe("abc");
    expect(truncate("日本語", 4)).toBe("日…");
    expect(fit("ab", 4)).toBe("ab  ");
  });

  it("cuts a line of spans at the width, keeping the styles of what is left", () => {
    const line = [span("Edge  ", "bold"), span("online", "green"), span("  region eu")];
    expect(fitLine(line, 100)).toBe(line);
    const cut = fitLine(line, 10);
    expect(plainText(cut)).toBe("Edge  onl…");
    expect(cut.map((s) => s.style)).toEqual(["bold", "green"]);
    expect(plainText(fitLine(line, 6))).toBe("Edge …");
  });

  it("replaces control characters, so text from the network cannot move the cursor or recolor", () => {
    expect(printable("/a\u001b[2Jb\r\n\u009b")).toBe("/a?[2Jb???");
  });

  it("paints styles as SGR only with color on", () => {
    const line = [span("online", "green"), span(" ok")];
    expect(paint(line, true)).toBe("\u001b[32monline\u001b[0m ok");
    expect(paint(line, false)).toBe("online ok");
  });
});
