import { describe, expect, it } from "vitest";
import { editedHeaders, parseReplayRequest } from "./replay-request.js";

describe("parseReplayRequest", () => {
  it("takes ngrok's {id} and Onramp's edits; uri is path's other name", () => {
    expect(parseReplayRequest({ id: "abc", tunnel_name: "ignored" })).toEqual({ id: "abc", edits: {} });
    expect(parseReplayRequest({ id: "abc", method: "PUT", uri: "/x?y=1", headers: { "X-A": "1", "X-B": ["2", "3"], Cookie: null }, body: "hi" })).toEqual({
      id: "abc",
      edits: { method: "PUT", path: "/x?y=1", headers: { "X-A": "1", "X-B": ["2", "3"], Cookie: null }, body: "hi" },
    });
  });

  it.each([
    [[1], "replay: the body must be a JSON object"],
    [{}, "replay: id: the id of a captured request is required, as a string"],
    [{ id: 7 }, "replay: id: the id of a captured request is required"],
    [{ id: "a", header: {} }, 'replay: unknown field "header"'],
    [{ id: "a", method: "GE T" }, 'replay: method: "GE T" is not an HTTP method'],
    [{ id: "a", path: "x" }, 'replay: path: "x" must start with "/"'],
    [{ id: "a", uri: "/a b" }, 'replay: uri: "/a b" must start with "/" and contain no spaces'],
    [{ id: "a", path: "/a", uri: "/b" }, "replay: give path or uri, not both"],
    [{ id: "a", headers: [] }, "replay: headers: must be an object"],
    [{ id: "a", headers: { "a b": "1" } }, 'replay: headers: "a b" is not a header name'],
    [{ id: "a", headers: { "x-a": "1\r\nx-b: 2" } }, "replay: headers.x-a: must be a string, an array of strings or null, without line breaks"],
    [{ id: "a", headers: { "x-a": 1 } }, "replay: headers.x-a: must be a string"],
    [{ id: "a", body: { json: true } }, "replay: body: must be a string"],
  ])("refuses %j, naming the field", (body, message) => {
    expect(() => parseReplayRequest(body)).toThrow(message);
  });
});

describe("editedHeaders", () => {
  const captured = ["Host", "app.example.com", "Content-Length", "5", "Connection", "keep-alive", "X-Keep", "1", "x-multi", "a", "x-multi", "b", "Cookie", "s=1"];

  it("replaces named headers (any case), removes null ones, keeps the rest in order", () => {
    expect(editedHeaders(captured, { "X-Multi": "c", cookie: null, "X-New": ["1", "2"] })).toEqual([
      "Host", "app.example.com", "X-Keep", "1", "X-Multi", "c", "X-New", "1", "X-New", "2",
    ]);
  });

  it("leaves out the headers undici sets or refuses (Content-Length, Connection, …), edited or not", () => {
    expect(editedHeaders(captured, { "Transfer-Encoding": "chunked", Expect: "100-continue" })).toEqual([
      "Host", "app.example.com", "X-Keep", "1", "x-multi", "a", "x-multi", "b", "Cookie", "s=1",
    ]);
  });
});
