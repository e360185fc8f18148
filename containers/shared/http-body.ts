import type { IncomingMessage, ServerResponse } from 'node:http';

/** How much of an unwanted request body a server reads and drops before it gives up and closes. */
export const DISCARD_CAP_BYTES = 64 * 1024 * 1024;

/**
 * How long a client may take to send a whole request (headers and body) before the server answers
 * 408 and closes: a client that stalls mid-body must not hold a connection and its buffers forever.
 */
export const REQUEST_TIMEOUT_MS = 120_000;

/**
 * Reads and drops what is left of a request body, up to `capBytes`. Resolves true when the body
 * ended within the cap, false when it went past it or the connection failed.
 */
export function discardBody(req: IncomingMessage, capBytes = DISCARD_CAP_BYTES): Promise<boolean> {
  if (req.complete) return Promise.resolve(true);
  return new Promise((resolve) => {
    let seen = 0;
    const finish = (ended: boolean) => {
      req.off('data', onData).off('end', onEnd).off('error', onFail).off('close', onFail);
      resolve(ended);
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > capBytes) finish(false);
    };
    const onEnd = () => finish(true);
    const onFail = () => finish(req.complete);
    req.on('data', onData).once('end', onEnd).once('error', onFail).once('close', onFail);
    req.resume();
  });
}

/**
 * Answers a request whose body the server will not read (too large, refused): the rest of the body
 * is read and dropped first, so the client gets the answer instead of a reset connection (EPIPE),
 * and the connection is closed after it.
 */
export async function answerWithoutBody(req: IncomingMessage, res: ServerResponse, write: () => void, capBytes = DISCARD_CAP_BYTES): Promise<void> {
  const ended = await discardBody(req, capBytes);
  if (res.writableEnded || res.destroyed) return;
  res.shouldKeepAlive = false;
  if (!ended) res.once('finish', () => req.socket.destroy());
  write();
}

/**
 * A request body of at most `limitBytes`; undefined when it is longer (by `Content-Length` or once
 * read past the limit), leaving the rest unread for {@link answerWithoutBody}.
 */
export function readBodyWithin(req: IncomingMessage, limitBytes: number): Promise<Buffer | undefined> {
  if (Number(req.headers['content-length'] ?? 0) > limitBytes) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limitBytes) {
        chunks.push(chunk);
        return;
      }
      req.off('data', onData).off('end', onEnd).off('error', reject);
      req.pause();
      resolve(undefined);
    };
    const onEnd = () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks));
    req.on('data', onData).once('end', onEnd).once('error', reject);
  });
}
