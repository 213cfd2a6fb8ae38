// Runs graphql-http's GraphQL-over-HTTP server audits against a running Peso.
//
//   node audit.mjs http://127.0.0.1:8000/graphql
//
// Prints one line per audit (ok / notice / warn / error) and a summary line
//   SUMMARY total=N ok=N must_failures=N should_warnings=N may_notices=N
// Exit status: 0 when every MUST audit passes (SHOULD warnings are printed, not fatal),
// 1 on any MUST failure, 2 on bad usage or when the server cannot be reached at all.
// tests/test_http_audit.py runs this and also asserts there are no SHOULD warnings.

import { serverAudits } from 'graphql-http';

const TIMEOUT_MS = 10_000;

async function main(argv) {
  const url = argv[2];
  if (!url || !/^https?:\/\//.test(url)) {
    console.error('usage: node audit.mjs http://HOST:PORT/graphql');
    return 2;
  }

  // Each request gets a deadline, so a hung server fails the audit instead of the test run.
  const fetchFn = (input, init = {}) =>
    fetch(input, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) });

  let mustFailures = 0;
  let shouldWarnings = 0;
  let mayNotices = 0;
  let ok = 0;
  const audits = serverAudits({ url, fetchFn });
  for (const audit of audits) {
    let result;
    try {
      result = await audit.fn();
    } catch (err) {
      // the audit functions throw only on fatal problems (e.g. connection refused)
      console.error(`FATAL ${audit.id} ${audit.name}: ${err && err.stack ? err.stack : err}`);
      return 2;
    }
    if (result.status === 'ok') {
      ok += 1;
      console.log(`ok     ${result.id} ${result.name}`);
      continue;
    }
    let body = '';
    try {
      body = await result.response.text();
    } catch {
      body = '<body already read>';
    }
    const status = result.response ? result.response.status : '?';
    const type = result.response ? result.response.headers.get('content-type') : '?';
    const label = { error: 'ERROR ', warn: 'WARN  ', notice: 'NOTICE' }[result.status];
    console.log(`${label} ${result.id} ${result.name}`);
    console.log(`       reason: ${result.reason}`);
    console.log(`       response: ${status} ${type} ${body.slice(0, 500)}`);
    if (result.status === 'error') mustFailures += 1;
    else if (result.status === 'warn') shouldWarnings += 1;
    else mayNotices += 1;
  }
  console.log(
    `SUMMARY total=${audits.length} ok=${ok} must_failures=${mustFailures} ` +
      `should_warnings=${shouldWarnings} may_notices=${mayNotices}`,
  );
  return mustFailures > 0 ? 1 : 0;
}

main(process.argv).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(2);
  },
);
