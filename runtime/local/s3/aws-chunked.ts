import { Transform, type TransformCallback } from 'node:stream';

/**
 * Decodes an `aws-chunked` request body (SigV4 streaming upload) back to the object's bytes.
 *
 * Recent `@aws-sdk/client-s3` versions send streaming uploads as
 * `<hex size>[;chunk-signature=<sig>]\r\n<bytes>\r\n … 0\r\n<trailer>:<value>\r\n\r\n`
 * (`x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER` or `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`),
 * which s3rver would store verbatim. The trailers (flexible checksums) are collected, not verified.
 */
export class AwsChunkedDecoder extends Transform {
  readonly trailers = new Map<string, string>();
  #buffer: Buffer = Buffer.alloc(0);
  #remaining = 0;
  #state: 'header' | 'data' | 'data-crlf' | 'trailers' | 'done' = 'header';

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    try {
      this.#drain();
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    if (this.#state === 'trailers' && this.#buffer.length === 0) this.#state = 'done';
    callback(this.#state === 'done' ? null : new Error(`aws-chunked body ended early (while reading ${this.#state})`));
  }

  #drain(): void {
    for (;;) {
      if (this.#state === 'data') {
        if (this.#buffer.length === 0) return;
        const take = Math.min(this.#remaining, this.#buffer.length);
        this.push(this.#buffer.subarray(0, take));
        this.#buffer = this.#buffer.subarray(take);
        this.#remaining -= take;
        if (this.#remaining === 0) this.#state = 'data-crlf';
        continue;
      }
      if (this.#state === 'done') return;
      const eol = this.#buffer.indexOf('\r\n');
      if (eol < 0) {
        if (this.#buffer.length > 4096) throw new Error('aws-chunked body has a line longer than 4096 bytes');
        return;
      }
      const line = this.#buffer.subarray(0, eol).toString('latin1');
      this.#buffer = this.#buffer.subarray(eol + 2);
      if (this.#state === 'data-crlf') {
        if (line !== '') throw new Error('aws-chunked body: expected CRLF after a chunk');
        this.#state = 'header';
      } else if (this.#state === 'header') {
        const size = Number.parseInt(line.split(';')[0] ?? '', 16);
        if (!Number.isFinite(size) || size < 0) throw new Error(`aws-chunked body: bad chunk header "${line.slice(0, 80)}"`);
        this.#remaining = size;
        this.#state = size === 0 ? 'trailers' : 'data';
      } else if (line === '') {
        this.#state = 'done';
      } else {
        const colon = line.indexOf(':');
        if (colon > 0) this.trailers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
    }
  }
}

/** Whether a request carries an aws-chunked body (by `Content-Encoding` or the streaming `x-amz-content-sha256`). */
export function isAwsChunked(headers: Readonly<Record<string, string | string[] | undefined>>): boolean {
  const encoding = String(headers['content-encoding'] ?? '');
  const sha = String(headers['x-amz-content-sha256'] ?? '');
  return encoding.split(',').some((e) => e.trim() === 'aws-chunked') || sha.startsWith('STREAMING-');
}

/** The headers s3rver must see for the decoded body: real length, no chunked framing. */
export function decodedHeaders(headers: Readonly<Record<string, string | string[] | undefined>>): Record<string, string | string[] | undefined> {
  const result: Record<string, string | string[] | undefined> = { ...headers };
  const encodings = String(headers['content-encoding'] ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '' && e !== 'aws-chunked');
  if (encodings.length > 0) result['content-encoding'] = encodings.join(', ');
  else delete result['content-encoding'];
  const decodedLength = headers['x-amz-decoded-content-length'];
  if (decodedLength !== undefined) result['content-length'] = String(decodedLength);
  else delete result['content-length'];
  delete result['transfer-encoding'];
  delete result['x-amz-trailer'];
  delete result['x-amz-decoded-content-length'];
  result['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
  return result;
}
