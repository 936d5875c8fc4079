// Screenshots of the whole X display (xwd, converted to PNG here): what a person at the screen sees,
// window frame and all. WebKitWebDriver's own screenshot can stall on some WebKitGTK builds
// under Xvfb, so the tests do not depend on it.
import { execFileSync } from "node:child_process";
import { deflateSync } from "node:zlib";

const CRC = new Int32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});

function crc32(buf) {
  let c = -1;
  for (const b of buf) c = CRC[(c ^ b) & 255] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/** Converts a 24/32-bit TrueColor ZPixmap XWD image to PNG. */
export function xwdToPng(xwd) {
  const h = (i) => xwd.readUInt32BE(i * 4);
  const headerSize = h(0);
  const [format, width, height, byteOrder, bpp, bytesPerLine] = [h(2), h(4), h(5), h(7), h(11), h(12)];
  const masks = [h(14), h(15), h(16)];
  const ncolors = h(19);
  if (format !== 2 || (bpp !== 32 && bpp !== 24)) throw new Error(`unsupported xwd: format ${format}, ${bpp} bpp`);
  const shifts = masks.map((m) => 31 - Math.clz32(m & -m));
  const data = xwd.subarray(headerSize + ncolors * 12);
  const raw = Buffer.alloc((width * 3 + 1) * height);
  const step = bpp / 8;
  for (let y = 0; y < height; y++) {
    raw[y * (width * 3 + 1)] = 0;
    for (let x = 0; x < width; x++) {
      const o = y * bytesPerLine + x * step;
      const px = step === 4 ? (byteOrder === 0 ? data.readUInt32LE(o) : data.readUInt32BE(o)) : byteOrder === 0 ? data[o] | (data[o + 1] << 8) | (data[o + 2] << 16) : (data[o] << 16) | (data[o + 1] << 8) | data[o + 2];
      const d = y * (width * 3 + 1) + 1 + x * 3;
      for (let k = 0; k < 3; k++) raw[d + k] = ((px & masks[k]) >>> shifts[k]) & 255;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([sig, chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]);
}

/** The X display as PNG. */
export function captureScreen() {
  const xwd = execFileSync("xwd", ["-root", "-silent"], { maxBuffer: 256 << 20 });
  return xwdToPng(xwd);
}
