import { DataError } from './errors.js';

/** An IDX array of unsigned bytes (the only element type Fashion-MNIST uses). */
export interface IdxArray {
  readonly dims: readonly number[];
  readonly data: Uint8Array;
  /** Records (first dimension) the header declares but the file does not hold. */
  readonly missing: number;
}

const UBYTE = 0x08;

/**
 * Parses an IDX file: magic 00 00 <type> <ndim>, ndim big-endian uint32 sizes, then data.
 * `expectedDims` guards against feeding a label file where images are expected.
 */
export function parseIdx(bytes: Uint8Array, file: string, expectedDims: number, allowTruncated: boolean): IdxArray {
  if (bytes.length < 4) {
    throw new DataError('DATA_TRUNCATED', `${file} is truncated: ${bytes.length} bytes, shorter than the 4-byte IDX magic number`, file);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  const expectedMagic = (UBYTE << 8) | expectedDims;
  if (magic !== expectedMagic) {
    throw new DataError(
      'DATA_BAD_MAGIC',
      `${file} has bad magic number 0x${magic.toString(16).padStart(8, '0')}; expected 0x${expectedMagic
        .toString(16)
        .padStart(8, '0')} (IDX unsigned-byte array with ${expectedDims} dimension${expectedDims === 1 ? '' : 's'})`,
      file,
    );
  }
  const headerBytes = 4 + 4 * expectedDims;
  if (bytes.length < headerBytes) {
    throw new DataError('DATA_TRUNCATED', `${file} is truncated inside its ${headerBytes}-byte header (${bytes.length} bytes)`, file);
  }
  const dims: number[] = [];
  for (let i = 0; i < expectedDims; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const recordBytes = dims.slice(1).reduce((a, b) => a * b, 1);
  const declared = dims[0] ?? 0;
  const available = bytes.length - headerBytes;
  const expectedBytes = declared * recordBytes;
  if (available < expectedBytes) {
    const complete = recordBytes === 0 ? 0 : Math.floor(available / recordBytes);
    if (!allowTruncated) {
      throw new DataError(
        'DATA_TRUNCATED',
        `${file} is truncated: header declares ${declared} records of ${recordBytes} bytes (${expectedBytes} bytes of data) but only ${available} bytes follow (${complete} complete records)`,
        file,
      );
    }
    return {
      dims: [complete, ...dims.slice(1)],
      data: bytes.subarray(headerBytes, headerBytes + complete * recordBytes),
      missing: declared - complete,
    };
  }
  if (available > expectedBytes) {
    throw new DataError(
      'DATA_BAD_RECORD_SIZE',
      `${file} holds ${available - expectedBytes} bytes more than its header declares (${declared} records of ${recordBytes} bytes); the header or the file is corrupt`,
      file,
    );
  }
  return { dims, data: bytes.subarray(headerBytes, headerBytes + expectedBytes), missing: 0 };
}
