/** The inspector page's style sheet: two panes, the list on the left and one request on the right. */
export const PAGE_STYLE = `
:root {
  --bg: #fff; --fg: #1d2430; --muted: #667085; --line: #e4e7ec; --panel: #f8f9fb; --accent: #2563eb;
  --ok: #15803d; --redirect: #0e7490; --warn: #b45309; --err: #b91c1c; --selected: #e8f0fe;
  --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
}
@media (prefers-color-scheme: dark) {
  :root { --bg: #111418; --fg: #e6e8eb; --muted: #98a2b3; --line: #2a2f36; --panel: #181c21; --accent: #60a5fa;
    --ok: #4ade80; --redirect: #22d3ee; --warn: #fbbf24; --err: #f87171; --selected: #1e2a3d; }
}
* { box-sizing: border-box; }
/* The hidden attribute wins over any display a class sets. */
[hidden] { display: none !important; }
html, body { height: 100%; margin: 0; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); display: flex; flex-direction: column; }
.bar { display: flex; align-items: center; gap: 12px; padding: 8px 16px; border-bottom: 1px solid var(--line); background: var(--panel); }
.bar h1 { font-size: 16px; margin: 0; font-weight: 600; }
.live { font-size: 12px; color: var(--muted); }
.live.on::before { content: "●"; color: var(--ok); margin-right: 4px; }
.live.off::before { content: "●"; color: var(--warn); margin-right: 4px; }
#filter { margin-left: auto; width: 260px; }
input, textarea, select { font: inherit; color: inherit; background: var(--bg); border: 1px solid var(--line); border-radius: 6px; padding: 4px 8px; }
textarea { font-family: var(--mono); font-size: 12px; width: 100%; resize: vertical; }
button { font: inherit; cursor: pointer; border: 1px solid var(--line); border-radius: 6px; padding: 4px 12px; background: var(--bg); color: inherit; }
button:hover { border-color: var(--accent); }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
button.tab { padding: 1px 8px; font-size: 12px; }
button.tab.active { border-color: var(--accent); color: var(--accent); }
main { flex: 1; display: flex; min-height: 0; }
#list-pane { width: 46%; min-width: 360px; overflow: auto; border-right: 1px solid var(--line); }
#detail-pane { flex: 1; overflow: auto; padding: 16px 20px; }
table { border-collapse: collapse; width: 100%; }
#requests th { position: sticky; top: 0; background: var(--panel); text-align: left; font-weight: 600; font-size: 12px; color: var(--muted); }
#requests th, #requests td { padding: 5px 10px; border-bottom: 1px solid var(--line); white-space: nowrap; }
#requests td.path { max-width: 340px; overflow: hidden; text-overflow: ellipsis; font-family: var(--mono); font-size: 12.5px; }
#requests tbody tr { cursor: pointer; }
#requests tbody tr:hover { background: var(--panel); }
#requests tbody tr.selected { background: var(--selected); }
.num { text-align: right; }
td.num, td.time { font-variant-numeric: tabular-nums; color: var(--muted); }
.method { font-weight: 600; font-family: var(--mono); font-size: 12.5px; }
.badge { display: inline-block; font-size: 11px; padding: 0 6px; border-radius: 9px; border: 1px solid var(--line); color: var(--muted); margin-left: 6px; font-family: system-ui, sans-serif; }
.s2 { color: var(--ok); } .s3 { color: var(--redirect); } .s4 { color: var(--warn); } .s5, .serr { color: var(--err); } .spending { color: var(--muted); }
.empty { color: var(--muted); padding: 16px; }
.detail-head { display: flex; align-items: baseline; gap: 12px; flex-wrap: wrap; }
.detail-head h2 { font-size: 16px; margin: 0; font-family: var(--mono); font-weight: 500; word-break: break-all; flex: 1; }
.actions { display: flex; gap: 8px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 12px 0; font-size: 13px; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; font-family: var(--mono); font-size: 12.5px; word-break: break-all; }
.link { color: var(--accent); cursor: pointer; border: none; padding: 0; background: none; font: inherit; text-decoration: underline; }
form.edit { border: 1px solid var(--line); border-radius: 8px; padding: 12px; margin: 12px 0; background: var(--panel); display: grid; gap: 8px; }
form.edit label { font-size: 12px; color: var(--muted); display: grid; gap: 2px; }
form.edit .row { display: grid; grid-template-columns: 120px 1fr; gap: 8px; }
form.edit .buttons { display: flex; gap: 8px; }
.note { font-size: 13px; color: var(--muted); margin: 6px 0; }
.note.error { color: var(--err); }
section.message { margin-top: 18px; }
section.message h3 { font-size: 14px; margin: 0 0 6px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h4 { font-size: 12px; color: var(--muted); margin: 10px 0 4px; font-weight: 600; text-transform: uppercase; letter-spacing: .03em; }
table.headers td:first-child { width: 1%; }
table.headers td { padding: 2px 8px 2px 0; vertical-align: top; font-family: var(--mono); font-size: 12.5px; word-break: break-all; }
table.headers td:first-child { color: var(--muted); white-space: nowrap; word-break: normal; }
.views { display: flex; gap: 4px; align-items: center; margin-bottom: 4px; }
pre.body { font-family: var(--mono); font-size: 12.5px; background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; margin: 0; overflow: auto; max-height: 480px; white-space: pre-wrap; word-break: break-all; }
`;
