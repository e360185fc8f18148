import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import net from 'node:net';

/**
 * Local mode is loopback-only and closed to browsers (DESIGN.md): a web page the user has open must
 * not reach the edge port, neither directly (its requests carry an `Origin`; a form upload needs no
 * CORS preflight) nor through DNS rebinding (its requests carry the attacker's name in `Host`).
 */
export interface RequestGuardOptions {
  /** Origins (`scheme://host[:port]`) whose browser requests are let through; empty by default, as LocalStack's extra CORS origins. */
  readonly allowedOrigins: readonly string[];
}

export interface Refusal {
  readonly code: 'AccessDenied';
  readonly message: string;
}

/** Why a request is refused before any service sees it, or undefined when it may go on. Pure. */
export function requestRefusal(headers: IncomingHttpHeaders, options: RequestGuardOptions): Refusal | undefined {
  const host = headers.host;
  if (host === undefined || !isLoopbackHost(host)) {
    return {
      code: 'AccessDenied',
      message: `Host ${host === undefined ? '(none)' : JSON.stringify(host)} is not a loopback name or address: local mode answers only requests addressed to localhost, 127.0.0.0/8 or [::1].`,
    };
  }
  const origin = headers.origin;
  if (origin !== undefined && !options.allowedOrigins.map(normalizeOrigin).includes(normalizeOrigin(origin))) {
    return {
      code: 'AccessDenied',
      message: `Origin ${JSON.stringify(origin)} is not allowed: local mode refuses browser requests from origins not on its allowlist (npm start -- --allow-origin <origin>).`,
    };
  }
  const type = (headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type === 'multipart/form-data' || type === 'application/x-www-form-urlencoded') {
    return {
      code: 'AccessDenied',
      message: `Form uploads (Content-Type ${type}) are refused: no AWS API local mode serves takes one, and a browser sends them without a CORS preflight.`,
    };
  }
  return undefined;
}

/** Whether a `Host` header names this machine: `localhost`, `*.localhost`, 127.0.0.0/8 or ::1, any port. */
export function isLoopbackHost(host: string): boolean {
  const name = hostName(host.trim().toLowerCase());
  if (name === undefined) return false;
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  if (net.isIPv4(name)) return name.startsWith('127.');
  return net.isIPv6(name) && (name === '::1' || name === '0:0:0:0:0:0:0:1');
}

/** The name part of `name[:port]` or `[v6][:port]`; undefined when the header is malformed. */
function hostName(host: string): string | undefined {
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(host);
  if (bracketed) return bracketed[1];
  const plain = /^([^:[\]]+)(?::\d{1,5})?$/.exec(host);
  return plain?.[1]?.replace(/\.$/, '');
}

function normalizeOrigin(origin: string): string {
  return origin.trim().toLowerCase().replace(/\/+$/, '');
}

/** The refusal as the addressed service words errors: JSON for SageMaker and SageMaker Runtime, XML for S3. */
export function answerRefusal(res: ServerResponse, refusal: Refusal, protocol: 'json' | 'xml'): void {
  res.shouldKeepAlive = false;
  if (protocol === 'json') {
    res.writeHead(403, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': `${refusal.code}Exception`, connection: 'close' });
    res.end(JSON.stringify({ __type: `${refusal.code}Exception`, message: refusal.message }));
    return;
  }
  const escaped = refusal.message.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
  res.writeHead(403, { 'content-type': 'application/xml', connection: 'close' });
  res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${refusal.code}</Code><Message>${escaped}</Message></Error>`);
}
