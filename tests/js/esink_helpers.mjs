// Shared by the Esink compatibility tests: real socket.io-client sockets that record every
// event they receive, and the SQL client of the database under test.
import { execFileSync } from 'node:child_process';
import { io } from 'socket.io-client';

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

// ESINK_SQL is a JSON array: the command line of psql or mariadb, the statement goes last.
export function sql(statement) {
  const command = JSON.parse(process.env.ESINK_SQL);
  execFileSync(command[0], [...command.slice(1), statement], { stdio: ['ignore', 'pipe', 'pipe'] });
}

export function open(url, token, options = {}) {
  const auth = token === undefined ? {} : { token };
  const socket = io(url, { auth, forceNew: true, reconnection: false, ...options });
  const events = [];
  socket.onAny((event, ...args) => events.push({ event, payload: args[0] }));
  socket.on('disconnect', (reason) => events.push({ event: 'disconnect', payload: reason }));
  return { socket, events };
}

// Resolves with the `connected` payload; rejects on `error`, connect_error or a timeout.
export async function connect(url, token, options = {}) {
  const client = open(url, token, options);
  client.info = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no 'connected' for ${token}`)), 10000);
    client.socket.once('connected', (info) => { clearTimeout(timer); resolve(info); });
    client.socket.once('error', (error) => { clearTimeout(timer); reject(new Error(JSON.stringify(error))); });
    client.socket.once('connect_error', (error) => { clearTimeout(timer); reject(error); });
  });
  return client;
}

export async function waitFor(events, predicate, what, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = events.filter(predicate);
    if (found.length > 0) return found;
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(events.slice(-10))}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export async function until(condition, what, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export async function waitForCount(events, predicate, count, what, timeoutMs = 10000) {
  return waitFor(events, () => events.filter(predicate).length >= count, what, timeoutMs)
    .then(() => events.filter(predicate));
}

export const of = (event, table, id) => (e) =>
  e.event === event && e.payload && e.payload.table === table &&
  (id === undefined || (e.payload.data && e.payload.data.id === id));

export async function post(url, body, headers = { 'content-type': 'application/json' }) {
  const response = await fetch(url, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await response.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: response.status, json, text };
}

export function closeAll(...clients) {
  for (const client of clients) client?.socket.close();
}
