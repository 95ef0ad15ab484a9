// Esink compatibility, checked with the unmodified socket.io-client from npm against a real
// `tandem esink` on a real database (PostgreSQL or MariaDB). Started by
// tests/compat/esink/esink_js_e2e_test.cpp, which sets:
//   ESINK_URL         the server under test (SECURITY_TOKEN=s3cret, ALLOW_REPUBLISHING=true)
//   ESINK_CLOSED_URL  a server without SECURITY_TOKEN and with republishing off
//   ESINK_SQL         the database's command-line client (JSON array), ESINK_SOURCE, ESINK_DIALECT
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { UUID, sql, open, connect, waitFor, waitForCount, until, of, post, closeAll } from './esink_helpers.mjs';

const URL = process.env.ESINK_URL;
const CLOSED_URL = process.env.ESINK_CLOSED_URL;
const SOURCE = process.env.ESINK_SOURCE;
const POSTGRES = process.env.ESINK_DIALECT === 'postgres';

const alice = await connect(URL, 'tok-alice');
const bob = await connect(URL, 'tok-bob');
after(() => closeAll(alice, bob));

test('connected reports a session id and the user id from the auth table', () => {
  assert.equal(alice.info.code, 200);
  assert.equal(alice.info.message, 'Successfully connected.');
  assert.match(alice.info.sessionId, UUID);
  assert.equal(String(alice.info.userId), '1');
  assert.notEqual(alice.info.sessionId, bob.info.sessionId);
});

test('an insert, update and delete reach the owner as table events and as changes, with Esink\'s payload', async () => {
  sql('INSERT INTO orders (id, user_id, item, qty) VALUES (101, 1, \'apple\', 3)');
  const [inserted] = await waitFor(alice.events, of('orders', 'orders', 101), 'the orders event');
  const [change] = await waitFor(alice.events, of('changes', 'orders', 101), 'the changes event');
  const payload = inserted.payload;
  assert.deepEqual(Object.keys(payload).sort(),
    ['data', 'id', 'source', 'source_type', 'table', 'timestamp', 'type', 'version']);
  assert.match(payload.id, UUID);
  assert.equal(payload.table, 'orders');
  assert.equal(payload.type, 'insert');
  assert.equal(payload.source, SOURCE);
  assert.equal(payload.source_type, 'database');
  assert.equal(payload.version, 1);
  assert.ok(Math.abs(payload.timestamp - Date.now()) < 60000, `timestamp ${payload.timestamp}`);
  assert.equal(payload.data.user_id, 1);
  assert.equal(payload.data.item, 'apple');
  assert.equal(payload.data.qty, 3);
  assert.deepEqual(change.payload, payload, 'the changes event carries the same payload');

  sql('UPDATE orders SET qty = 5 WHERE id = 101');
  const [updated] = await waitFor(alice.events,
    (e) => of('orders', 'orders', 101)(e) && e.payload.type === 'update', 'the update');
  assert.equal(updated.payload.data.qty, 5, 'an update carries the new row');

  sql('DELETE FROM orders WHERE id = 101');
  const [deleted] = await waitFor(alice.events,
    (e) => of('orders', 'orders', 101)(e) && e.payload.type === 'delete', 'the delete');
  assert.equal(deleted.payload.data.item, 'apple', 'a delete carries the old row');
  assert.equal(deleted.payload.data.qty, 5);
});

test('a user never receives another user\'s row', async () => {
  sql('INSERT INTO orders (id, user_id, item, qty) VALUES (201, 2, \'bread\', 1)');
  sql('INSERT INTO orders (id, user_id, item, qty) VALUES (202, 1, \'cheese\', 1)');
  await waitFor(bob.events, of('orders', 'orders', 201), 'bob\'s order');
  await waitFor(alice.events, of('orders', 'orders', 202), 'alice\'s order');
  assert.equal(alice.events.filter((e) => e.payload?.data?.id === 201).length, 0);
  assert.equal(bob.events.filter((e) => e.payload?.data?.id === 202).length, 0);
  assert.equal(bob.events.filter((e) => e.payload?.data?.id === 101).length, 0);
});

if (POSTGRES) {
  test('values keep their JSON types: booleans, json, numbers', async () => {
    sql('INSERT INTO orders (id, user_id, item, qty, paid, meta, price) ' +
        'VALUES (301, 1, \'tea\', 2, true, \'{"gift": true, "tags": ["a"]}\', 12.50)');
    const [event] = await waitFor(alice.events, of('orders', 'orders', 301), 'the typed order');
    assert.equal(event.payload.data.paid, true);
    assert.deepEqual(event.payload.data.meta, { gift: true, tags: ['a'] });
    assert.equal(event.payload.data.price, 12.5);
  });
}

test('FILTERS strip columns, and a filtered routing column still routes', async () => {
  sql('INSERT INTO users (id, name, password) VALUES (1, \'Alice\', \'hunter2\')');
  const [user] = await waitFor(alice.events, of('users', 'users', 1), 'alice\'s user row');
  assert.equal(user.payload.data.name, 'Alice');
  assert.ok(!('password' in user.payload.data), 'password is filtered');

  // messages.sender_id is filtered, yet routes the message to its sender.
  sql('INSERT INTO messages (id, sender_id, recipient_id, body) VALUES (401, 1, 2, \'hi\')');
  const [sent] = await waitFor(alice.events, of('messages', 'messages', 401), 'the sender\'s copy');
  const [received] = await waitFor(bob.events, of('messages', 'messages', 401), 'the recipient\'s copy');
  assert.ok(!('sender_id' in sent.payload.data));
  assert.ok(!('sender_id' in received.payload.data));
  assert.equal(received.payload.data.recipient_id, 2);
});

test('array routing sends one event per matching column', async () => {
  sql('INSERT INTO messages (id, sender_id, recipient_id, body) VALUES (402, 1, 1, \'note to self\')');
  const copies = await waitForCount(alice.events, of('messages', 'messages', 402), 2, 'two copies');
  assert.equal(copies.length, 2);
  assert.notEqual(copies[0].payload.id, copies[1].payload.id, 'each publish has its own id');
  assert.equal(bob.events.filter((e) => e.payload?.data?.id === 402).length, 0);
});

test('"*" routing reaches every socket and a table without a route reaches nobody', async () => {
  const tester = await connect(URL, 'TEST');
  try {
    assert.equal(tester.info.userId, '-1');
    sql('INSERT INTO secrets (id, body) VALUES (501, \'classified\')');
    sql('INSERT INTO news (id, title) VALUES (501, \'hello world\')');
    for (const client of [alice, bob, tester]) {
      await waitFor(client.events, of('news', 'news', 501), 'the news');
      await waitFor(client.events, of('changes', 'news', 501), 'the news as changes');
    }
    for (const client of [alice, bob, tester]) {
      assert.equal(client.events.filter((e) => e.payload?.table === 'secrets').length, 0);
    }
  } finally {
    closeAll(tester);
  }
});

test('a bad, duplicated or missing token gets error 401 and is disconnected', async () => {
  for (const token of ['nope', 'tok-dup', undefined, "' OR 1=1 --"]) {
    const client = open(URL, token);
    const [error] = await waitFor(client.events, (e) => e.event === 'error', `error for ${token}`);
    assert.deepEqual(error.payload, { code: 401, message: 'Unauthorized' });
    const [gone] = await waitFor(client.events, (e) => e.event === 'disconnect', 'the disconnect');
    assert.equal(gone.payload, 'io server disconnect');
    assert.equal(client.events.filter((e) => e.event === 'connected').length, 0);
    closeAll(client);
  }
});

test('POST /publish answers 400, 401, 403 and 200 as Esink does', async () => {
  const good = { data: { id: 7, password: 'x', note: 'hi' }, table: 'users', type: 'update',
    userId: '1', securityToken: 's3cret' };

  const missing = await post(`${URL}/publish`, { ...good, table: undefined });
  assert.equal(missing.status, 400);
  assert.equal(missing.json.code, 400);
  assert.equal(missing.json.key, 'table');
  assert.equal(missing.json.type, 'ValidationError');
  assert.equal(missing.json.message, 'body.table attribute is required');

  const notObject = await post(`${URL}/publish`, { ...good, data: 'text' });
  assert.equal(notObject.status, 400);
  assert.equal(notObject.json.message, 'body.data attribute must be an object');
  const tooLong = await post(`${URL}/publish`, { ...good, type: 'x'.repeat(65) });
  assert.equal(tooLong.status, 400);
  assert.equal(tooLong.json.key, 'type');

  const wrong = await post(`${URL}/publish`, { ...good, securityToken: 'guess' });
  assert.equal(wrong.status, 401);
  assert.deepEqual(wrong.json, { code: 401, message: 'Unauthorized, invalid security token' });

  const disabled = await post(`${CLOSED_URL}/publish`, good);
  assert.equal(disabled.status, 403);
  assert.equal(disabled.json.code, 403);

  const sent = await post(`${URL}/publish`, good);
  assert.equal(sent.status, 200);
  assert.equal(sent.json.code, 200);
  assert.equal(sent.json.message, 'Message queued for publishing');
  assert.match(sent.json.id, UUID);
  assert.deepEqual(sent.json.sentTo, [alice.info.sessionId]);
  const [event] = await waitFor(alice.events, (e) => e.event === 'users' && e.payload.id === sent.json.id, 'the published event');
  assert.equal(event.payload.source, 'API', 'DEFAULT_SOURCE when the body names none');
  assert.equal(event.payload.source_type, 'api');
  assert.equal(event.payload.version, 1);
  assert.equal(typeof event.payload.timestamp, 'number');
  assert.deepEqual(event.payload.data, { id: 7, note: 'hi' }, 'FILTERS apply to published events');
  assert.equal(bob.events.filter((e) => e.payload?.id === sent.json.id).length, 0);

  const everyone = await post(`${URL}/publish`, { ...good, userId: '*', table: 'alerts', source: 'billing' });
  assert.equal(everyone.status, 200);
  assert.equal(everyone.json.sentTo.length >= 2, true);
  for (const client of [alice, bob]) {
    const [alert] = await waitFor(client.events, (e) => e.event === 'alerts' && e.payload.id === everyone.json.id, 'the broadcast');
    assert.equal(alert.payload.source, 'billing');
  }
});

test('GET /ping answers pong and unknown routes a JSON 404', async () => {
  const ping = await fetch(`${URL}/ping`);
  assert.equal(ping.status, 200);
  assert.equal(await ping.text(), 'pong');
  const missing = await fetch(`${URL}/nowhere`);
  assert.equal(missing.status, 404);
  const body = await missing.json();
  assert.equal(body.code, 404);
  assert.equal(body.message, 'Route not found');
});

test('a socket may republish to itself when ALLOW_REPUBLISHING is on, with validation', async () => {
  alice.socket.emit('event', { table: 'notes', type: 'insert', data: { text: 'mine' } });
  const [note] = await waitFor(alice.events, (e) => e.event === 'notes', 'the republished note');
  assert.equal(note.payload.source, 'socketio');
  assert.equal(note.payload.source_type, 'socketio');
  assert.deepEqual(note.payload.data, { text: 'mine' });

  alice.socket.emit('event', { table: 'notes', type: 'insert' });
  const [invalid] = await waitFor(alice.events, (e) => e.event === 'error' && e.payload.code === 400, 'the 400');
  assert.equal(invalid.payload.message, 'Invalid parameters given');
  assert.equal(invalid.payload.key, 'data');
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(bob.events.filter((e) => e.event === 'notes').length, 0);
});

test('republishing is refused when ALLOW_REPUBLISHING is off', async () => {
  const tester = await connect(CLOSED_URL, 'TEST');
  try {
    tester.socket.emit('event', { table: 'notes', type: 'insert', data: {} });
    const [refused] = await waitFor(tester.events, (e) => e.event === 'error', 'the refusal');
    assert.equal(refused.payload.code, 403);
    assert.equal(tester.events.filter((e) => e.event === 'notes').length, 0);
  } finally {
    closeAll(tester);
  }
});

test('long-polling works when the client disables WebSocket', async () => {
  const polling = await connect(URL, 'tok-alice', { transports: ['polling'] });
  try {
    assert.equal(polling.socket.io.engine.transport.name, 'polling');
    sql('INSERT INTO orders (id, user_id, item, qty) VALUES (601, 1, \'plum\', 1)');
    await waitFor(polling.events, of('orders', 'orders', 601), 'the order over polling');
    await waitFor(polling.events, of('changes', 'orders', 601), 'changes over polling');
    assert.equal(polling.socket.io.engine.transport.name, 'polling');
  } finally {
    closeAll(polling);
  }
});

test('the default transports upgrade from polling to WebSocket and lose nothing', async () => {
  const upgraded = await connect(URL, 'tok-bob', { transports: ['polling', 'websocket'] });
  try {
    for (let id = 701; id <= 720; ++id) {
      sql(`INSERT INTO orders (id, user_id, item, qty) VALUES (${id}, 2, 'pear', ${id})`);
    }
    await waitForCount(upgraded.events, (e) => e.event === 'orders' && e.payload.data.id > 700, 20, 'twenty orders');
    await until(() => upgraded.socket.io.engine.transport.name === 'websocket', 'the upgrade');
    const ids = upgraded.events.filter((e) => e.event === 'orders' && e.payload.data.id > 700).map((e) => e.payload.data.id);
    assert.deepEqual(ids, Array.from({ length: 20 }, (_, i) => 701 + i), 'in commit order, each once');
  } finally {
    closeAll(upgraded);
  }
});
