// Socket.IO fan-out (issue 7, item 7; docs/benchmarks.md): S real socket.io-client sockets,
// all receiving a table routed to `*`, while R rows are inserted into PostgreSQL in
// B-row INSERT statements; reports delivered events/s and insert-to-receive latency.
// --rate 0 (the default, Esink's test) sends the INSERTs as fast as one psql session goes:
// a burst, so latency is mostly queueing; --rate R paces them at R rows/s, for latency at a
// rate the server sustains.
//
//   node bench/socketio/fanout.mjs --tandem build/bench/src/cli/tandem \
//     [--sockets 100] [--rows 5000] [--batch 100] [--processes 1] [--rate 0] [--time-limit 300]
//
// It starts its own throwaway PostgreSQL 15 cluster (the settings of bench/loadgen's
// cluster_options(): fsync and synchronous_commit on) and `tandem esink` configured by Esink's
// environment variables, spreads the sockets over --processes receiver processes (forks of
// this script), and stops everything it started on exit, error, SIGINT/SIGTERM or time limit.
// Every row holds `sent_us`, PostgreSQL's clock_timestamp() (wall clock, microseconds) while
// its INSERT ran; a receiver subtracts it from its own wall clock (performance.timeOrigin +
// performance.now(), the same system clock) when the event is handed to its listener. So
// the latency includes the commit (fsync) and everything after it.
// Output: `RESULT socketio-fanout ...` lines and one `SUMMARY {json}` line, like
// tandem_loadgen. Exit status: 0 valid, 1 invalid (events missing or duplicated), 2 set-up
// failure, 3 time limit.
import { execFileSync, fork, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const nowUs = () => (performance.timeOrigin + performance.now()) * 1000;

function parseArgs(argv) {
  const options = {
    tandem: 'build/bench/src/cli/tandem', sockets: 100, rows: 5000, batch: 100, processes: 1,
    timeLimit: 300, drain: 120, rate: 0, role: 'main', url: '', count: 0, expected: 0,
  };
  const names = { '--time-limit': 'timeLimit' };
  for (let i = 0; i < argv.length; i += 2) {
    const key = names[argv[i]] ?? argv[i].replace(/^--/, '');
    if (!(key in options) || argv[i + 1] === undefined) throw new Error(`bad option ${argv[i]}`);
    options[key] = typeof options[key] === 'number' ? Number(argv[i + 1]) : argv[i + 1];
  }
  return options;
}

// ---------------------------------------------------------------------------- receiver
// Opens `count` sockets with token TEST, says `ready` once every one is connected and on
// WebSocket, records every `ticks` and `changes` event, and answers `report` with its
// latencies (a Float64Array of microseconds), counts and CPU use since `start`.
async function receiver(options) {
  const require = createRequire(path.join(root, 'tests/js/package.json'));
  const { io } = require('socket.io-client');
  const expected = options.expected;  // events per socket
  const latencies = new Float64Array(options.count * expected + 1024);
  let recorded = 0;
  let firstUs = 0;
  let lastUs = 0;
  const perSocket = [];
  let cpuAtStart = process.cpuUsage();
  let done = 0;
  const record = (index) => (payload) => {
    const at = nowUs();
    if (firstUs === 0) firstUs = at;
    lastUs = at;
    if (recorded < latencies.length) latencies[recorded] = at - payload.data.sent_us;
    recorded++;
    if (++perSocket[index] === expected) {
      if (++done === options.count) process.send({ type: 'complete' });
    }
  };
  const sockets = [];
  await Promise.all(Array.from({ length: options.count }, (_, index) => new Promise((resolve, reject) => {
    perSocket.push(0);
    const socket = io(options.url, { auth: { token: 'TEST' }, forceNew: true, reconnection: false });
    sockets.push(socket);
    socket.on('ticks', record(index));
    socket.on('changes', record(index));
    const timer = setTimeout(() => reject(new Error('socket not connected and upgraded in 30 s')), 30000);
    let connected = false;
    let upgraded = false;
    const check = () => { if (connected && upgraded) { clearTimeout(timer); resolve(); } };
    socket.once('connected', () => { connected = true; check(); });
    socket.io.on('open', () => {
      const engine = socket.io.engine;
      if (engine.transport.name === 'websocket') upgraded = true;
      engine.once('upgrade', () => { upgraded = true; check(); });
      check();
    });
    socket.once('error', (error) => reject(new Error(JSON.stringify(error))));
    socket.once('connect_error', reject);
  })));
  process.on('message', (message) => {
    if (message.type === 'start') {
      cpuAtStart = process.cpuUsage();
    } else if (message.type === 'report') {
      const cpu = process.cpuUsage(cpuAtStart);
      const kept = latencies.subarray(0, Math.min(recorded, latencies.length));
      process.send({
        type: 'report', recorded, firstUs, lastUs, cpuUs: cpu.user + cpu.system,
        short: perSocket.filter((n) => n < expected).length,
        over: perSocket.filter((n) => n > expected).length,
        latencies: kept,
      });
      for (const socket of sockets) socket.close();
      setTimeout(() => process.exit(0), 200);
    }
  });
  process.send({ type: 'ready', transport: sockets[0].io.engine.transport.name });
}

// ---------------------------------------------------------------------------- main
const cleanups = [];
function cleanup() {
  while (cleanups.length) {
    try { cleanups.pop()(); } catch (error) { console.error(`cleanup: ${error.message}`); }
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const pgBin = '/usr/lib/postgresql/15/bin';
// As bench/loadgen's cluster_options() (PostgresCluster::settings_summary in
// tests/support/postgres_cluster.cpp): everything but the port and socket directory.
const pgSettings = '-c listen_addresses=127.0.0.1 -c wal_level=logical -c max_wal_senders=10' +
  ' -c max_replication_slots=10 -c max_connections=300 -c shared_buffers=256MB';

function asPostgres(argv) {
  return process.getuid() === 0 ? ['/usr/sbin/runuser', '-u', 'postgres', '--', ...argv] : argv;
}

async function startCluster(dir) {
  fs.mkdirSync(dir);
  for (const sub of ['data', 'socket', 'logs']) fs.mkdirSync(path.join(dir, sub));
  for (const traversed of [path.dirname(dir), dir]) fs.chmodSync(traversed, 0o711);
  if (process.getuid() === 0) execFileSync('chown', ['-R', 'postgres:', dir]);
  const run = (argv) => {
    const [command, ...args] = asPostgres(argv);
    return execFileSync(command, args, { cwd: '/tmp', stdio: ['ignore', 'pipe', 'pipe'] });
  };
  run([`${pgBin}/initdb`, '-A', 'trust', '--no-sync', '-U', 'postgres', '-E', 'UTF8', '--locale',
    'C', '-D', path.join(dir, 'data')]);
  const port = await freePort();
  cleanups.push(() => run([`${pgBin}/pg_ctl`, '-w', '-t', '30', '-D', path.join(dir, 'data'), '-m',
    'immediate', 'stop']));
  run([`${pgBin}/pg_ctl`, '-w', '-t', '60', '-D', path.join(dir, 'data'), '-l',
    path.join(dir, 'logs/server.log'), '-o', `-p ${port} -k ${path.join(dir, 'socket')} ${pgSettings}`,
    'start']);
  return port;
}

function psqlArgs(port) {
  return ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(port), '-U',
    'postgres', '-d', 'postgres'];
}

async function startEsink(binary, dir, port) {
  if (!fs.existsSync(binary)) throw new Error(`no tandem binary at ${binary} (make bench builds it)`);
  const portFile = path.join(dir, 'esink-port');
  const log = fs.openSync(path.join(dir, 'esink.log'), 'w');
  const child = spawn(path.resolve(binary), ['esink', '--address', '127.0.0.1', '--port', '0',
    '--port-file', portFile, '--data-dir', path.join(dir, 'esink-data'), '--log-level', 'warn',
    // Every socket comes from 127.0.0.1.
    '--max-connections-per-address', '0'], {
    cwd: '/tmp',
    stdio: ['ignore', log, log],
    env: {
      ...process.env,
      // Esink's own variables, as a deployment of Esink would have them.
      POSTGRES_DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/postgres`,
      TABLE_NAMES: 'ticks',
      TABLE_AUTH_COLUMN_ROUTING: '{"ticks":"*"}',
    },
  });
  cleanups.push(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  const deadline = Date.now() + 60000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`tandem esink exited: ${tail(path.join(dir, 'esink.log'))}`);
    const text = fs.existsSync(portFile) ? fs.readFileSync(portFile, 'utf8').trim() : '';
    if (Number(text) > 0) return { child, url: `http://127.0.0.1:${Number(text)}` };
    await sleep(20);
  }
  throw new Error(`tandem esink did not listen in 60 s: ${tail(path.join(dir, 'esink.log'))}`);
}

function tail(file, bytes = 2000) {
  try { const text = fs.readFileSync(file, 'utf8'); return text.slice(-bytes); } catch { return ''; }
}

// utime + stime of a process, in microseconds.
function processCpuUs(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * (1e6 / 100);
}

// CPU of every PostgreSQL process (the postmaster's children included), microseconds.
function postgresCpuUs(dataDir) {
  let pid;
  try { pid = Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]); } catch { return 0; }
  let total = 0;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // Children's own time; exited children are in cutime/cstime of the postmaster.
      if (Number(entry) === pid) total += (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) * 1e4;
      else if (Number(fields[1]) === pid) total += (Number(fields[11]) + Number(fields[12])) * 1e4;
    } catch { /* exited meanwhile */ }
  }
  return total;
}

function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

const ms = (us) => (us / 1000).toFixed(1);
const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');

async function main(options) {
  if (!fs.existsSync(path.join(root, 'tests/js/node_modules/socket.io-client'))) {
    throw new Error('socket.io-client is not installed in tests/js (scripts/install-deps --test)');
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-bench-sio-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const pgPort = await startCluster(path.join(dir, 'pg'));
  const psql = (sql) => execFileSync('psql', [...psqlArgs(pgPort), '-c', sql], { stdio: ['ignore', 'pipe', 'pipe'] });
  psql('CREATE TABLE ticks (id bigint PRIMARY KEY, sent_us bigint NOT NULL, body text NOT NULL)');
  const { child: server, url } = await startEsink(options.tandem, dir, pgPort);
  console.log(`socketio-fanout: tandem esink pid ${server.pid} at ${url}, PostgreSQL 15 on port ${pgPort} ` +
    `(${pgSettings}; fsync and synchronous_commit on); ${options.sockets} sockets in ` +
    `${options.processes} receiver process(es), ${options.rows} rows in ${options.batch}-row INSERTs`);

  const expected = options.rows * 2;  // a `ticks` and a `changes` event per row
  const receivers = [];
  const share = Math.ceil(options.sockets / options.processes);
  for (let i = 0, left = options.sockets; left > 0; ++i, left -= share) {
    const count = Math.min(share, left);
    const child = fork(fileURLToPath(import.meta.url), ['--role', 'receiver', '--url', url,
      '--count', String(count), '--expected', String(expected)], { serialization: 'advanced' });
    cleanups.push(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
    const state = { child, count, complete: false, report: null, ready: null };
    state.readyPromise = new Promise((resolve, reject) => {
      child.on('message', (message) => {
        if (message.type === 'ready') { state.ready = message; resolve(); }
        if (message.type === 'complete') state.complete = true;
        if (message.type === 'report') state.report = message;
      });
      child.once('exit', (code) => { if (!state.report) reject(new Error(`receiver exited with ${code}`)); });
    });
    receivers.push(state);
  }
  await Promise.all(receivers.map((r) => r.readyPromise));
  console.log(`socketio-fanout: ${options.sockets} sockets connected (transport ${receivers[0].ready.transport})`);
  await sleep(500);

  for (const r of receivers) r.child.send({ type: 'start' });
  const serverCpu0 = processCpuUs(server.pid);
  const pgCpu0 = postgresCpuUs(path.join(dir, 'pg/data'));
  const loadBefore = load();
  // One psql session, one autocommit INSERT of `batch` rows per statement: as fast as psql
  // goes, or (--rate) each statement sent when its rows are due.
  const statements = [];
  for (let first = 1; first <= options.rows; first += options.batch) {
    const last = Math.min(options.rows, first + options.batch - 1);
    statements.push({ first, sql: `INSERT INTO ticks (id, sent_us, body) SELECT g, ` +
      `(extract(epoch FROM clock_timestamp()) * 1e6)::bigint, 'tick ' || g ` +
      `FROM generate_series(${first}, ${last}) g;\n` });
  }
  const insertStartUs = nowUs();
  await new Promise((resolve, reject) => {
    const writer = spawn('psql', [...psqlArgs(pgPort), '-f', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let errors = '';
    writer.stderr.on('data', (data) => { errors += data; });
    writer.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`psql: ${errors}`))));
    if (options.rate <= 0) {
      writer.stdin.end(statements.map((s) => s.sql).join(''));
      return;
    }
    (async () => {
      for (const statement of statements) {
        const dueUs = insertStartUs + ((statement.first - 1) / options.rate) * 1e6;
        const waitMs = (dueUs - nowUs()) / 1000;
        if (waitMs > 0) await sleep(waitMs);
        writer.stdin.write(statement.sql);
      }
      writer.stdin.end();
    })();
  });
  const insertEndUs = nowUs();

  const drainDeadline = Date.now() + options.drain * 1000;
  while (!receivers.every((r) => r.complete) && Date.now() < drainDeadline) await sleep(10);
  const serverCpuUs = processCpuUs(server.pid) - serverCpu0;
  const pgCpuUs = postgresCpuUs(path.join(dir, 'pg/data')) - pgCpu0;
  const loadAfter = load();
  await sleep(200);  // duplicates, if any, would arrive now
  for (const r of receivers) r.child.send({ type: 'report' });
  const deadline = Date.now() + 30000;
  while (!receivers.every((r) => r.report) && Date.now() < deadline) await sleep(20);
  if (!receivers.every((r) => r.report)) throw new Error('a receiver did not report');

  const reports = receivers.map((r) => r.report);
  const events = reports.reduce((sum, r) => sum + r.recorded, 0);
  const lastUs = Math.max(...reports.map((r) => r.lastUs));
  const firstUs = Math.min(...reports.map((r) => r.firstUs || Infinity));
  const all = new Float64Array(reports.reduce((sum, r) => sum + r.latencies.length, 0));
  let offset = 0;
  for (const r of reports) { all.set(r.latencies, offset); offset += r.latencies.length; }
  all.sort();
  const windowUs = lastUs - insertStartUs;
  const offered = options.sockets * expected;
  const short = reports.reduce((sum, r) => sum + r.short, 0);
  const over = reports.reduce((sum, r) => sum + r.over, 0);
  const result = {
    sockets: options.sockets, processes: options.processes, rows: options.rows, batch: options.batch,
    rate: options.rate,
    events, offered, missing: offered - events, sockets_short: short, sockets_over: over,
    events_per_s: Math.round(events / (windowUs / 1e6)),
    // One event per row per socket, as Esink's own figure counts (events_per_s counts the
    // table's event and `changes`).
    row_events_per_s: Math.round(events / 2 / (windowUs / 1e6)),
    window_s: +(windowUs / 1e6).toFixed(3),
    first_event_after_ms: +ms(firstUs - insertStartUs),
    insert_s: +((insertEndUs - insertStartUs) / 1e6).toFixed(3),
    rows_per_s_inserted: Math.round(options.rows / ((insertEndUs - insertStartUs) / 1e6)),
    latency_min_ms: +ms(all[0]), latency_p50_ms: +ms(quantile(all, 0.5)), latency_p99_ms: +ms(quantile(all, 0.99)),
    latency_max_ms: +ms(all[all.length - 1]),
    receivers_cpu_pct: reports.map((r) => Math.round((100 * r.cpuUs) / windowUs)),
    server_cpu_pct: Math.round((100 * serverCpuUs) / windowUs),
    postgres_cpu_pct: Math.round((100 * pgCpuUs) / windowUs),
    load_before: loadBefore, load_after: loadAfter,
  };
  console.log(`RESULT socketio-fanout delivery ${Object.entries(result)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v).replace(/ /g, ',')}`).join(' ')}`);
  console.log(`SUMMARY ${JSON.stringify({ scenario: 'socketio-fanout', results: [result] })}`);
  if (server.exitCode !== null) throw new Error('tandem esink exited during the run');
  return events === offered && short === 0 && over === 0 ? 0 : 1;
}

const options = parseArgs(process.argv.slice(2));
if (options.role === 'receiver') {
  receiver(options).catch((error) => { console.error(`receiver: ${error.message}`); process.exit(2); });
} else {
  let finished = false;
  const stop = (status) => { if (!finished) { finished = true; cleanup(); } process.exit(status); };
  process.on('SIGINT', () => stop(3));
  process.on('SIGTERM', () => stop(3));
  const watchdog = setTimeout(() => { console.error(`socketio-fanout: time limit of ${options.timeLimit} s`); stop(3); }, options.timeLimit * 1000);
  watchdog.unref();
  main(options).then((status) => stop(status), (error) => {
    console.error(`socketio-fanout: ${error.stack ?? error}`);
    stop(2);
  });
}
