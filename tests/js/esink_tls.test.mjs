// USE_SSL: the server speaks only TLS, with the certificate it was configured with. Started by
// tests/compat/esink/esink_js_e2e_test.cpp with ESINK_TLS_URL (https://127.0.0.1:PORT).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import http from 'node:http';
import { connect, closeAll } from './esink_helpers.mjs';

const URL = process.env.ESINK_TLS_URL;
// The test's certificate is self-signed for localhost: trust is not what is under test.
const tls = { rejectUnauthorized: false };

for (const transports of [['websocket'], ['polling'], ['polling', 'websocket']]) {
  test(`socket.io-client connects over TLS (${transports.join(' + ')})`, async () => {
    const client = await connect(URL, 'TEST', { transports, ...tls });
    try {
      assert.equal(client.info.code, 200);
      assert.equal(client.info.userId, '-1');
    } finally {
      closeAll(client);
    }
  });
}

test('/ping answers over HTTPS and plain HTTP on the same port gets no answer', async () => {
  const body = await new Promise((resolve, reject) => {
    https.get(`${URL}/ping`, tls, (response) => {
      let text = '';
      response.on('data', (chunk) => { text += chunk; });
      response.on('end', () => resolve(text));
    }).on('error', reject);
  });
  assert.equal(body, 'pong');
  const plain = URL.replace('https://', 'http://');
  const outcome = await new Promise((resolve) => {
    const request = http.get(`${plain}/ping`, (response) => resolve(`status ${response.statusCode}`));
    request.on('error', (error) => resolve(`error ${error.code}`));
    request.setTimeout(3000, () => { request.destroy(); resolve('timeout'); });
  });
  assert.notEqual(outcome, 'status 200', `plain HTTP must not be served (${outcome})`);
});
