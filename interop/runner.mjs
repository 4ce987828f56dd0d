// The harness runner shared by checks.mjs and mcp.mjs: a fixed set of checks, one line each
// (PASS name | FAIL name: reason | SKIP name: reason), prerequisites reported as "blocked",
// then "N passed, M failed" as the last line, even when the harness itself crashes.
// Diagnostics go to stderr only with HARNESS_VERBOSE=1.

export const VERBOSE = process.env.HARNESS_VERBOSE === '1';
// a closed pipe (e.g. `| head`) must end the run quietly, never feed the crash handler in a loop
let stderrOpen = true;
process.stderr.on('error', () => { stderrOpen = false; });
process.stdout.on('error', (e) => { if (e.code === 'EPIPE') process.exit(1); });
export const log = (...a) => { if (VERBOSE && stderrOpen) process.stderr.write(`${a.join(' ')}\n`); };

export const oneLine = (s) => String(s).replace(/\s+/g, ' ').trim().slice(0, 600);
const counts = { pass: 0, fail: 0, skip: 0 };
const status = new Map();
const finishHooks = [];
let finished = false;

export function emit(kind, name, reason) {
  status.set(name, kind);
  counts[kind] += 1;
  const tag = kind.toUpperCase();
  process.stdout.write(reason === undefined ? `${tag} ${name}\n` : `${tag} ${name}: ${oneLine(reason)}\n`);
}

/** One line about an error: oauth4webapi's (error, status, detail) and the MCP SDK's (errorCode) members included. */
export function errorText(err) {
  if (!err) return 'unknown error';
  if (typeof err !== 'object') return String(err);
  const parts = [];
  if (err.name && err.name !== 'Error') parts.push(err.name);
  parts.push(err.message || String(err));
  if (err.error) parts.push(`error=${err.error}`);
  if (typeof err.errorCode === 'string') parts.push(`error=${err.errorCode}`);
  if (err.error_description) parts.push(`(${err.error_description})`);
  if (err.status) parts.push(`status=${err.status}`);
  if (err.detail) parts.push(err.detail);
  if (err.cause instanceof Error) parts.push(`cause: ${err.cause.message}`);
  else if (err.cause && typeof err.cause === 'object') {
    try { parts.push(`cause=${JSON.stringify(err.cause).slice(0, 300)}`); } catch { /* ignore */ }
  }
  return oneLine(parts.join(' '));
}

/**
 * Runs one check unless a prerequisite in `deps` did not pass. `enrich` may add detail to an
 * error before it is reported.
 */
export async function check(name, deps, fn, timeoutMs = Number(process.env.HARNESS_CHECK_TIMEOUT_MS || 30000), enrich = async (err) => err) {
  const missing = deps.filter((d) => status.get(d) !== 'pass');
  if (missing.length) {
    const allSkipped = missing.every((d) => status.get(d) === 'skip');
    emit(allSkipped ? 'skip' : 'fail', name, `blocked: prerequisite ${missing.join(', ')} did not pass`);
    return;
  }
  let timer;
  try {
    await Promise.race([
      Promise.resolve().then(fn),
      new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs); }),
    ]);
    emit('pass', name);
  } catch (err) {
    await enrich(err);
    const text = errorText(err);
    log(`[${name}] ${text}${err?.stack ? `\n${err.stack}` : ''}`);
    emit('fail', name, text);
  } finally {
    clearTimeout(timer);
  }
}

export function assert(cond, message) {
  if (!cond) throw new Error(message);
}

/** Runs `hook` before the summary line (e.g. closing the servers a harness started). */
export function onFinish(hook) {
  finishHooks.push(hook);
}

/** Prints the summary line and sets the exit code, once (a crash after it changes nothing). */
export function finish(code) {
  if (finished) return;
  finished = true;
  for (const hook of finishHooks.splice(0)) hook();
  if (counts.skip) log(`(${counts.skip} skipped)`);
  process.stdout.write(`${counts.pass} passed, ${counts.fail} failed\n`);
  process.exitCode = code ?? (counts.fail === 0 && counts.pass > 0 ? 0 : 1);
}

// a bug in the harness itself must still end with the contract's last line
const crash = (err) => {
  if (err?.code === 'EPIPE') return;
  if (finished) return;
  log(err?.stack || String(err));
  emit('fail', 'harness.crash', errorText(err));
  finish(1);
};
process.on('uncaughtException', crash);
process.on('unhandledRejection', crash);
