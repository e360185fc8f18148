import fs from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import test from 'ava';
import { CreateBucketCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { ListTrainingJobsCommand } from '@aws-sdk/client-sagemaker';
import { isLoopbackHost, requestRefusal } from '../../../runtime/local/request-guard.js';
import { startInferenceServer } from '../../../containers/inference/server.js';
import { startLocal } from './local-aws-fixture.js';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A request as a browser or script sends it, with the headers and body given and nothing else. */
function send(baseUrl: string, o: { method: string; path: string; headers?: Record<string, string>; body?: Buffer | string }): Promise<Answer> {
  const url = new URL(baseUrl);
  const body = o.body ?? '';
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, method: o.method, path: o.path, agent: false, headers: { 'content-length': Buffer.byteLength(body), ...o.headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

test('guard rules: loopback hosts pass, other names, missing hosts, foreign origins and form uploads do not', (t) => {
  for (const host of ['localhost', 'localhost:4566', '127.0.0.1:4566', '127.1.2.3', '[::1]:4566', 'forecast-local.localhost:4566', 'LOCALHOST.']) t.true(isLoopbackHost(host), host);
  for (const host of ['evil.example', 'evil.example:4566', '10.0.0.1', '0.0.0.0:4566', '[::ffff:7f00:1]', 'localhost.evil.example', '127.0.0.1.nip.io', 'local host', '']) t.false(isLoopbackHost(host), host);
  const allow = { allowedOrigins: ['http://localhost:3000'] };
  t.is(requestRefusal({ host: 'localhost' }, allow), undefined);
  t.is(requestRefusal({ host: 'localhost', origin: 'http://LOCALHOST:3000/' }, allow), undefined);
  t.regex(requestRefusal({}, allow)?.message ?? '', /Host \(none\)/);
  t.regex(requestRefusal({ host: 'localhost', origin: 'null' }, allow)?.message ?? '', /Origin "null" is not allowed/);
  t.regex(requestRefusal({ host: 'localhost', origin: 'https://evil.example' }, { allowedOrigins: [] })?.message ?? '', /evil\.example.*allowlist/);
  t.regex(requestRefusal({ host: 'localhost', 'content-type': 'multipart/form-data; boundary=x' }, allow)?.message ?? '', /Form uploads/);
  t.regex(requestRefusal({ host: 'localhost', 'content-type': 'application/x-www-form-urlencoded' }, allow)?.message ?? '', /Form uploads/);
});

test('the edge refuses foreign origins, form uploads and rebinding hosts with an AWS-shaped 403, and writes nothing', async (t) => {
  const { aws, s3, sagemaker, dataDir } = await startLocal(t, { allowedOrigins: ['http://localhost:3000'] });
  await s3.send(new CreateBucketCommand({ Bucket: 'bkt1' }));
  const form = '--b\r\nContent-Disposition: form-data; name="key"\r\n\r\nposted\r\n--b\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\nowned\r\n--b--\r\n';
  const refused: { what: string; method: string; path: string; headers: Record<string, string>; body?: string; xml: boolean }[] = [
    { what: 'form POST upload', method: 'POST', path: '/bkt1', headers: { 'content-type': 'multipart/form-data; boundary=b' }, body: form, xml: true },
    { what: 'PUT from a foreign origin', method: 'PUT', path: '/bkt1/from-page', headers: { origin: 'https://evil.example' }, body: 'owned', xml: true },
    { what: 'preflight from a foreign origin', method: 'OPTIONS', path: '/bkt1/from-page', headers: { origin: 'https://evil.example', 'access-control-request-method': 'PUT' }, xml: true },
    { what: 'GET through DNS rebinding', method: 'GET', path: '/bkt1', headers: { host: 'evil.example:4566' }, xml: true },
    {
      what: 'SageMaker call from a foreign origin',
      method: 'POST',
      path: '/',
      headers: { origin: 'https://evil.example', 'x-amz-target': 'SageMaker.ListTrainingJobs', 'content-type': 'application/x-amz-json-1.1' },
      body: '{}',
      xml: false,
    },
    { what: 'invocation through DNS rebinding', method: 'POST', path: '/endpoints/e/invocations', headers: { host: 'attacker.example' }, body: '{"period":7}', xml: false },
  ];
  for (const request of refused) {
    const answer = await send(aws.endpointUrl, request);
    t.is(answer.status, 403, request.what);
    if (request.xml) t.regex(answer.body, /<Code>AccessDenied<\/Code><Message>[^<]+<\/Message>/, request.what);
    else t.is(JSON.parse(answer.body).__type, 'AccessDeniedException', request.what);
  }
  t.deepEqual((await s3.send(new ListObjectsV2Command({ Bucket: 'bkt1' }))).Contents ?? [], [], 'nothing was stored');
  t.false((await fs.readdir(dataDir, { recursive: true })).some((p) => String(p).includes('posted') || String(p).includes('from-page')));

  // What the SDK and an allowed page send still works.
  await t.notThrowsAsync(sagemaker.send(new ListTrainingJobsCommand({})));
  const allowed = await send(aws.endpointUrl, { method: 'PUT', path: '/bkt1/from-allowed', headers: { origin: 'http://localhost:3000' }, body: 'ok' });
  t.is(allowed.status, 200);
});

/** Sends headers and part of a body, then nothing: resolves with what the server answered, or how the connection ended. */
function stallMidBody(baseUrl: string, path: string, headers: Record<string, string>): Promise<string> {
  const url = new URL(baseUrl);
  return new Promise((resolve) => {
    const socket = net.connect(Number(url.port), url.hostname, () => {
      const head = Object.entries({ host: `127.0.0.1:${url.port}`, 'content-length': '1000', ...headers }).map(([k, v]) => `${k}: ${v}\r\n`).join('');
      socket.write(`POST ${path} HTTP/1.1\r\n${head}\r\n{"period":`);
    });
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString()));
    socket.on('close', () => resolve(received.split('\r\n')[0] || 'closed without an answer'));
  });
}

test('every server answers an over-limit body with 413 and a message, and drops a client that stalls mid-body', async (t) => {
  const { aws } = await startLocal(t, { requestTimeoutMs: 1000 });
  const big = Buffer.alloc(7 * 1024 * 1024, 'x');
  const sagemakerApi = await send(aws.endpointUrl, {
    method: 'POST',
    path: '/',
    headers: { 'x-amz-target': 'SageMaker.ListTrainingJobs', 'content-type': 'application/x-amz-json-1.1' },
    body: Buffer.alloc(17 * 1024 * 1024, 'x'),
  });
  t.is(sagemakerApi.status, 413);
  t.regex(JSON.parse(sagemakerApi.body).message, /larger than the 16777216 bytes/);
  t.is(sagemakerApi.headers.connection, 'close');

  const invoke = await send(aws.endpointUrl, { method: 'POST', path: '/endpoints/nope/invocations', headers: { 'x-amzn-sagemaker-target-model': 'r/1.tar.gz' }, body: big });
  t.is(invoke.status, 413);
  t.regex(JSON.parse(invoke.body).message, /less than or equal to 6291456/);

  const inference = await startInferenceServer({ host: '127.0.0.1', port: 0, workers: 0, uncertaintySamples: undefined, modelMemoryBytes: undefined });
  t.teardown(() => inference.close());
  for (const body of [Buffer.alloc(1024 * 1024, 'x'), big]) {
    const answer = await send(inference.url, { method: 'POST', path: '/models/m/invoke', headers: { 'content-type': 'application/json' }, body });
    t.is(answer.status, 413, `${body.length} bytes`);
    t.is(JSON.parse(answer.body).code, 'E_BODY_TOO_LARGE');
  }

  const started = Date.now();
  t.regex(await stallMidBody(aws.endpointUrl, '/', { 'x-amz-target': 'SageMaker.ListTrainingJobs' }), /408|closed/);
  t.true(Date.now() - started < 10_000, 'the stalled client was dropped within the request timeout');
});
