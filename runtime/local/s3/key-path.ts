/**
 * How local S3 lays an object key out on disk, so that no key, whatever it contains, names a file
 * outside its bucket's folder, and every key S3 accepts comes back unchanged from a listing.
 *
 * A key is split at `/` into segments; each segment becomes one or more path components:
 * - `%` and control characters are written `%XX` (so `%2F` in a key stays three literal characters);
 * - the segments `.` and `..` are written `%2E` / `%2E%2E`, an empty segment (`a//b`, `dir/`) `%`;
 * - a segment longer than {@link MAX_PIECE_BYTES} once encoded is cut into pieces, each in its own
 *   folder, every piece after the first prefixed `%+` ("continues the segment above").
 * Every other character (UTF-8 included) is kept, so ordinary keys keep their plain layout.
 * `%` followed by anything but two hex digits never comes out of the encoder, so decoding is exact.
 */

/** S3's limit on a key's UTF-8 length. */
export const MAX_KEY_BYTES = 1024;
/** Below NAME_MAX (255) with room for s3rver's `._S3rver_metadata.json` and a `.partial` suffix. */
export const MAX_PIECE_BYTES = 200;
const CONTINUATION = '%+';
const EMPTY_SEGMENT = '%';

/** S3's bucket naming rules (3–63 lowercase letters, digits, dots, hyphens; no `..`). */
export function isValidBucketName(bucket: string): boolean {
  return /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) && !bucket.includes('..');
}

/** Why a key cannot be stored, or undefined when it can. */
export function keyProblem(key: string): string | undefined {
  if (key === '') return 'the key is empty';
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_KEY_BYTES) return `the key is ${bytes} bytes long; S3 allows at most ${MAX_KEY_BYTES}`;
  return undefined;
}

/** The path components (relative to the bucket folder) that hold `key`; the last is the object's file stem. */
export function keyToPathComponents(key: string): string[] {
  return key.split('/').flatMap((segment) => splitPiece(encodeSegment(segment)));
}

function encodeSegment(segment: string): string {
  if (segment === '') return EMPTY_SEGMENT;
  if (segment === '.' || segment === '..') return segment.replaceAll('.', '%2E');
  return segment.replace(/[%\u0000-\u001f\u007f]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

/** Cuts an encoded segment into pieces of at most MAX_PIECE_BYTES, never inside `%XX` or a character. */
function splitPiece(encoded: string): string[] {
  if (Buffer.byteLength(encoded, 'utf8') <= MAX_PIECE_BYTES) return [encoded];
  const pieces: string[] = [];
  let current = '';
  let currentBytes = 0;
  for (const unit of encoded.match(/%[0-9A-F]{2}|[\s\S]/gu) ?? []) {
    const bytes = Buffer.byteLength(unit, 'utf8');
    if (currentBytes + bytes > MAX_PIECE_BYTES) {
      pieces.push(current);
      current = '';
      currentBytes = 0;
    }
    current += unit;
    currentBytes += bytes;
  }
  pieces.push(current);
  return pieces.map((piece, i) => (i === 0 ? piece : CONTINUATION + piece));
}

/**
 * The key text a path component adds to the key text of the folder it is in (`parent`, undefined
 * at the bucket's top level): a continuation piece extends the parent's last segment, any other
 * component starts a new segment.
 */
export function appendPathComponent(parent: string | undefined, component: string): string {
  if (component.startsWith(CONTINUATION)) return (parent ?? '') + decodePiece(component.slice(CONTINUATION.length));
  const segment = component === EMPTY_SEGMENT ? '' : decodePiece(component);
  return parent === undefined ? segment : `${parent}/${segment}`;
}

function decodePiece(piece: string): string {
  return piece.replace(/%([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}
