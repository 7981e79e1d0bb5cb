import { sniffImageType } from 'src/agents/avatar-sniff';

const b = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));

describe('sniffImageType', () => {
  it('recognises png, jpeg, gif and webp by their magic bytes', () => {
    expect(sniffImageType(b([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'rest'))).toBe('image/png');
    expect(sniffImageType(b([0xff, 0xd8, 0xff, 0xe0], 'JFIF'))).toBe('image/jpeg');
    expect(sniffImageType(b('GIF89a', [1, 0, 1, 0]))).toBe('image/gif');
    expect(sniffImageType(b('GIF87a', [1, 0, 1, 0]))).toBe('image/gif');
    expect(sniffImageType(b('RIFF', [26, 0, 0, 0], 'WEBPVP8 ', [0, 0, 0, 0]))).toBe('image/webp');
    expect(sniffImageType(b('RIFF', [26, 0, 0, 0], 'WEBPVP8L', [0, 0, 0, 0]))).toBe('image/webp');
  });

  it('refuses svg, html, text, other RIFF files, truncated signatures and empty input', () => {
    for (const buf of [
      b('<svg xmlns="http://www.w3.org/2000/svg"></svg>'),
      b('<?xml version="1.0"?><svg/>'),
      b('<!DOCTYPE html><html><script>alert(1)</script></html>'),
      b('hello world'),
      b('RIFF', [26, 0, 0, 0], 'WAVEfmt ', [0, 0, 0, 0]),
      b([0x89, 0x50, 0x4e, 0x47]),
      b([0xff, 0xd8]),
      b('GIF8'),
      Buffer.alloc(0),
    ]) {
      expect(sniffImageType(buf)).toBeNull();
    }
  });
});
