/** Image types accepted as avatars, decided by magic bytes only (never by file name or declared type). */
export type AvatarContentType = 'image/png' | 'image/jpeg' | 'image/webp' | 'image/gif';

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const JPEG = Buffer.from([0xff, 0xd8, 0xff]);

const startsWith = (buf: Buffer, magic: Buffer | string, at = 0): boolean => {
  const m = typeof magic === 'string' ? Buffer.from(magic, 'latin1') : magic;
  return buf.length >= at + m.length && buf.subarray(at, at + m.length).equals(m);
};

/** The image type of `buf` by its signature, or null (SVG, HTML, text and everything else). */
export function sniffImageType(buf: Buffer): AvatarContentType | null {
  if (startsWith(buf, PNG)) return 'image/png';
  if (startsWith(buf, JPEG)) return 'image/jpeg';
  if (startsWith(buf, 'GIF87a') || startsWith(buf, 'GIF89a')) return 'image/gif';
  if (buf.length >= 16 && startsWith(buf, 'RIFF') && startsWith(buf, 'WEBP', 8) && startsWith(buf, 'VP8', 12))
    return 'image/webp';
  return null;
}
