/**
 * The inspector's page: a shell the script fills in. Script and style are separate files so the
 * Content-Security-Policy can forbid inline code: the page shows request data from anyone on the
 * internet, and nothing of it may ever run.
 */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Onramp Inspector</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/inspector.css">
<script src="/inspector.js" defer></script>
</head>
<body>
<header class="bar">
  <h1>Onramp Inspector</h1>
  <span id="live" class="live">connecting…</span>
  <input id="filter" type="search" placeholder="Filter: path, method or status" aria-label="Filter requests">
  <button id="clear" type="button" title="Forget every captured request">Clear</button>
</header>
<main>
  <section id="list-pane" aria-label="Requests">
    <table id="requests">
      <thead><tr><th>Time</th><th>Method</th><th>Path</th><th>Status</th><th class="num">Duration</th><th class="num">Size</th></tr></thead>
      <tbody id="rows"></tbody>
    </table>
    <p id="empty" class="empty">No requests yet. Send one to your endpoint and it appears here.</p>
  </section>
  <section id="detail-pane" aria-label="Request details">
    <p id="no-selection" class="empty">Select a request to see its headers, bodies and timing, and to replay it.</p>
    <div id="detail" hidden></div>
  </section>
</main>
</body>
</html>
`;
