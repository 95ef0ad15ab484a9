// Tandem's Socket.IO transport against the real npm socket.io-client. Starts the echo server
// (tests/compat/socketio/socketio_test_server.cpp) whose path ctest passes in
// SOCKETIO_TEST_SERVER. Run: node --test socketio_transport.test.mjs
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { io } from 'socket.io-client';

const SERVER_BINARY = process.env.SOCKETIO_TEST_SERVER;
const WAIT_MS = 5000;

// Starts the test server; resolves once it printed its port.
async function startServer(args = []) {
  assert.ok(SERVER_BINARY, 'SOCKETIO_TEST_SERVER must name the test server binary');
  const child = spawn(SERVER_BINARY, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const port = await new Promise((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const newline = output.indexOf('\n');
      if (newline >= 0) resolve(Number(output.slice(0, newline)));
    });
    child.once('error', reject);
    exited.then(({ code }) => reject(new Error(`test server exited early with ${code}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      child.kill('SIGTERM');
      const { code, signal } = await withTimeout(exited, 10000, 'test server exit');
      assert.equal(signal, null, `test server died of ${signal}`);
      assert.equal(code, 0, 'test server exit code');
    },
  };
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// The arguments of the next `event` on `emitter`.
function next(emitter, event, ms = WAIT_MS) {
  return withTimeout(new Promise((resolve) => emitter.once(event, (...args) => resolve(args))), ms, event);
}

// Collects `count` payloads of `event`.
function collect(socket, event, count, ms = WAIT_MS) {
  const received = [];
  return withTimeout(
    new Promise((resolve) => {
      socket.on(event, (payload) => {
        received.push(payload);
        if (received.length === count) resolve(received);
      });
    }),
    ms,
    `${count} ${event} events (got ${received.length})`,
  );
}

const sockets = [];

// A client socket; its `hello` (sent by the server on connect) is awaited by the caller.
function connect(url, options = {}) {
  const socket = io(url, { forceNew: true, reconnection: false, ...options });
  sockets.push(socket);
  return socket;
}

let server;
let fastServer;  // 300 ms ping interval

before(async () => {
  server = await startServer();
  fastServer = await startServer(['--ping-interval', '300', '--ping-timeout', '200']);
});

after(async () => {
  for (const socket of sockets) socket.disconnect();
  await server?.stop();
  await fastServer?.stop();
});

test('websocket only: connects, receives its auth back, echoes', async () => {
  const socket = connect(server.url, { transports: ['websocket'], auth: { token: 'tok-1' } });
  const [auth] = await next(socket, 'hello');
  assert.deepEqual(auth, { token: 'tok-1' });
  assert.ok(socket.connected);
  assert.equal(typeof socket.id, 'string');
  assert.equal(socket.io.engine.transport.name, 'websocket');

  socket.emit('echo', { text: 'héllo', list: [1, 2, 3] });
  const [echoed] = await next(socket, 'echo');
  assert.deepEqual(echoed, { text: 'héllo', list: [1, 2, 3] });
});

test('polling only: connects, echoes, 200 messages arrive in order', async () => {
  const socket = connect(server.url, { transports: ['polling'], auth: { token: 'tok-2' } });
  const [auth] = await next(socket, 'hello');
  assert.deepEqual(auth, { token: 'tok-2' });
  assert.equal(socket.io.engine.transport.name, 'polling');

  socket.emit('echo', 'first');
  assert.deepEqual(await next(socket, 'echo'), ['first']);

  const echoes = collect(socket, 'echo', 200);
  for (let i = 0; i < 200; i++) socket.emit('echo', i);
  assert.deepEqual(await echoes, Array.from({ length: 200 }, (_, i) => i));

  const flood = collect(socket, 'flood', 500);
  socket.emit('flood', 500);
  assert.deepEqual(await flood, Array.from({ length: 500 }, (_, i) => i));
  assert.equal(socket.io.engine.transport.name, 'polling');
});

test('default transports upgrade to websocket and lose nothing across the upgrade', async () => {
  const socket = connect(server.url, { auth: { token: 'tok-3' } });
  const upgraded = next(socket.io.engine, 'upgrade');
  const [auth] = await next(socket, 'hello');
  assert.deepEqual(auth, { token: 'tok-3' });

  // Traffic both ways while the transport changes under it.
  const count = 300;
  const flood = collect(socket, 'flood', count);
  const echoes = collect(socket, 'echo', count);
  socket.emit('flood', count);
  for (let i = 0; i < count; i++) {
    socket.emit('echo', i);
    if (i % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 2));
  }
  await withTimeout(upgraded, WAIT_MS, 'upgrade');
  assert.equal(socket.io.engine.transport.name, 'websocket');
  assert.deepEqual(await flood, Array.from({ length: count }, (_, i) => i));
  assert.deepEqual(await echoes, Array.from({ length: count }, (_, i) => i));

  socket.emit('echo', 'after upgrade');
  assert.deepEqual(await next(socket, 'echo'), ['after upgrade']);
});

test('broadcast reaches 3 sockets on every transport', async () => {
  const clients = [
    connect(server.url, { transports: ['websocket'] }),
    connect(server.url, { transports: ['polling'] }),
    connect(server.url),
  ];
  await Promise.all(clients.map((socket) => next(socket, 'hello')));
  const received = Promise.all(clients.map((socket) => next(socket, 'broadcast')));
  clients[1].emit('broadcast', { n: 42 });
  assert.deepEqual(await received, [[{ n: 42 }], [{ n: 42 }], [{ n: 42 }]]);
});

test('ack round trip', async () => {
  for (const transports of [['websocket'], ['polling']]) {
    const socket = connect(server.url, { transports });
    await next(socket, 'hello');
    const args = await withTimeout(
      new Promise((resolve) => socket.emit('ack-me', 'a', { b: 2 }, (...reply) => resolve(reply))),
      WAIT_MS,
      'ack',
    );
    assert.deepEqual(args, ['a', { b: 2 }]);
    assert.deepEqual(await socket.timeout(WAIT_MS).emitWithAck('ack-me', 7), 7);
  }
});

test('server-initiated disconnect gives the client "io server disconnect"', async () => {
  for (const transports of [['websocket'], ['polling'], ['polling', 'websocket']]) {
    const socket = connect(server.url, { transports, reconnection: true });
    await next(socket, 'hello');
    socket.emit('bye');
    const [reason] = await next(socket, 'disconnect');
    assert.equal(reason, 'io server disconnect', `transports ${transports}`);
    assert.equal(socket.connected, false);
  }
});

test('another namespace is refused with connect_error', async () => {
  const socket = connect(`${server.url}/admin`, { transports: ['websocket'] });
  const [error] = await next(socket, 'connect_error');
  assert.equal(error.message, 'Invalid namespace');
});

test('with a 300 ms ping interval the connection survives 2 s idle', async () => {
  const clients = [
    connect(fastServer.url, { transports: ['websocket'] }),
    connect(fastServer.url, { transports: ['polling'] }),
    connect(fastServer.url),
  ];
  await Promise.all(clients.map((socket) => next(socket, 'hello')));
  let pings = 0;
  clients[0].io.engine.on('ping', () => pings++);
  const disconnects = [];
  for (const socket of clients) socket.on('disconnect', (reason) => disconnects.push(reason));

  await new Promise((resolve) => setTimeout(resolve, 2000));

  assert.deepEqual(disconnects, []);
  assert.ok(pings >= 4, `only ${pings} pings in 2 s`);
  for (const socket of clients) {
    assert.ok(socket.connected);
    socket.emit('echo', 'still here');
    assert.deepEqual(await next(socket, 'echo'), ['still here']);
  }
});

test('raw HTTP with an unknown sid gets 400 and the engine.io error JSON', async () => {
  const response = await fetch(`${server.url}/socket.io/?EIO=4&transport=polling&sid=unknown`);
  assert.equal(response.status, 400);
  assert.match(response.headers.get('content-type'), /application\/json/);
  assert.deepEqual(await response.json(), { code: 1, message: 'Session ID unknown' });

  const badVersion = await fetch(`${server.url}/socket.io/?EIO=3&transport=polling`);
  assert.equal(badVersion.status, 400);
  assert.deepEqual(await badVersion.json(), { code: 5, message: 'Unsupported protocol version' });
});
