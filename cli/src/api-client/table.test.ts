import { describe, expect, it } from "vitest";
import { cell, printable, renderDetails, renderTable, shortTime, text } from "./table.js";

describe("renderTable", () => {
  it("aligns columns under the headers, three spaces apart, with no trailing spaces", () => {
    const columns = [
      { header: "ID", value: (r: { id: string; d: string }) => r.id },
      { header: "DESCRIPTION", value: (r: { id: string; d: string }) => r.d },
    ];
    expect(renderTable(columns, [{ id: "a-long-id", d: "" }, { id: "b", d: "two words" }])).toBe("ID          DESCRIPTION\na-long-id   -\nb           two words\n");
  });

  it("prints details as aligned LABEL   value lines", () => {
    expect(renderDetails([["ID", "x"], ["DESCRIPTION", "y"]])).toBe("ID            x\nDESCRIPTION   y\n");
  });
});

describe("cell and printable", () => {
  it("escape what would break a line or reach the terminal as a control sequence", () => {
    expect(cell("a\nb\tc\u001b[31md\r")).toBe("a\\nb c\\x1b[31md\\r");
    expect(cell("")).toBe("-");
    expect(printable("a:\r\n\tb\u001b]0;x\u0007\n")).toBe("a:\n\tb\\x1b]0;x\\x07\n");
  });
});

describe("shortTime and text", () => {
  it("show RFC 3339 times to the second and leave anything else alone", () => {
    expect(shortTime("2025-03-01T12:00:00.123456Z")).toBe("2025-03-01T12:00:00Z");
    expect(shortTime("2025-03-01T12:00:00.5+02:00")).toBe("2025-03-01T12:00:00+02:00");
    expect(shortTime("yesterday")).toBe("yesterday");
    expect(shortTime(undefined)).toBe("");
  });

  it("turn JSON values into cell text", () => {
    expect([text(undefined), text(null), text("s"), text(3), text(false), text({ a: 1 })]).toEqual(["", "", "s", "3", "false", '{"a":1}']);
  });
});
