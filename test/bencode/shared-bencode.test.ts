// The shared bencode module against hostile input: inputs that hang or mislead the `bencode` package
// end in a BencodeError; a `__proto__` key can neither pollute Object.prototype nor disguise a dictionary;
// byte-keyed dictionaries encode in byte order. Also the BEP 10 handshake parser, which reads peer bytes.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  BencodeError,
  byteKeyedDict,
  decodeBencode,
  encodeBencode,
  isDict,
} from '../../datapath/bencode.js';
import { parseExtensionHandshake } from '../../datapath/wire/extension.js';
import { WireError } from '../../datapath/wire/messages.js';

const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');
const BOM = '\xef\xbb\xbf';

describe('decodeBencode: strictness', () => {
  it('refuses negative lengths, strings past the end, trailing data and deep nesting', () => {
    for (const text of ['l-3:e', 'l1:x-3:e', 'd1:a-4:e', '-2:ab', '5:ab', 'd1:a5:abe', 'i1ei2e', '1:ab', 'le ', 'i01e', 'i-0e']) {
      expect(() => decodeBencode(bytes(text)), text).toThrow(BencodeError);
    }
    expect(() => decodeBencode(bytes('l'.repeat(100_000)))).toThrow(/nesting deeper/);
    expect(() => decodeBencode(bytes(`${'l'.repeat(64)}${'e'.repeat(64)}`))).not.toThrow();
  });
});

describe('decodeBencode: __proto__ keys', () => {
  it('a __proto__ key with a dictionary, list or byte-string value is an error, and nothing is polluted', () => {
    const hostile = [
      'd9:__proto__d1:ai1eee',
      'd9:__proto__d8:intervali5eee',
      'd1:xd9:__proto__d1:ai1eeee', // nested
      'l d9:__proto__lee e'.replace(/ /g, ''),
      'd9:__proto__4:abcde',
      `d12:${BOM}__proto__d1:ai1eee`, // the package's UTF-8 key decoding drops a leading BOM
      `d12:${BOM}__proto__4:abcde`,
    ];
    for (const text of hostile) {
      expect(() => decodeBencode(bytes(text)), text).toThrow(/__proto__/);
    }
    const probe: Record<string, unknown> = {};
    expect(probe['a']).toBeUndefined();
    expect(probe['interval']).toBeUndefined();
    expect(Object.getPrototypeOf(probe)).toBe(Object.prototype);
  });

  it('a __proto__ key with an integer value is just absent', () => {
    const v = decodeBencode(bytes('d9:__proto__i1e1:ai2ee'));
    expect(isDict(v)).toBe(true);
    expect(v).toEqual({ a: 2 });
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
  });

  it('keys that name Object.prototype members stay ordinary own keys', () => {
    const v = decodeBencode(bytes('d11:constructori1e14:hasOwnPropertyi2e8:toString1:xe'));
    expect(isDict(v) && Object.keys(v).sort()).toEqual(['constructor', 'hasOwnProperty', 'toString']);
  });
});

describe('encodeBencode', () => {
  it('leaves out undefined values, writes strings as UTF-8 and bytes as they are', () => {
    expect(encodeBencode({ b: undefined, a: 'é', c: Buffer.from([0xff]) }).toString('latin1')).toBe('d1:a2:\xc3\xa91:c1:\xffe');
  });

  it('byte-keyed dictionaries are written raw, in byte order, one entry per distinct key', () => {
    const keys = [[0x10], [0x02], [0xff, 0x00], [0x02, 0x01], [0x10]].map((k) => Buffer.from(k));
    const dict = byteKeyedDict(keys.map((k, i) => [k, i] as const));
    const out = encodeBencode({ files: dict });
    // String forms "16", "2", "255,0", "2,1" would sort differently; bytes sort 02 < 02 01 < 10 < ff 00.
    expect(out.toString('latin1')).toBe('d5:filesd1:\x02i1e2:\x02\x01i3e1:\x10i4e2:\xff\x00i2eee');
    expect(() => decodeBencode(out)).not.toThrow();
  });
});

describe('BEP 10 extension handshake parser', () => {
  it('rejects l-3:e and a __proto__ trick with a WireError', () => {
    for (const text of ['l-3:e', 'd1:ml-3:ee', 'd1:md9:__proto__d1:ai1eeee']) {
      expect(() => parseExtensionHandshake(bytes(text)), text).toThrow(WireError);
    }
  });

  it('rejects l-3:e quickly in a separate process (a synchronous hang could not be timed out in-process)', () => {
    // The bare package loops forever on l-3:e; a child process is the only way to bound that.
    const moduleUrl = pathToFileURL(path.resolve('datapath/wire/extension.ts')).href;
    const script = `const { parseExtensionHandshake } = await import(${JSON.stringify(moduleUrl)});
      try { parseExtensionHandshake(Buffer.from('l-3:e')); console.log('accepted'); }
      catch (err) { console.log(err.name); }`;
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 20_000,
      killSignal: 'SIGKILL',
    });
    expect(run.signal, 'the parser hung and was killed').toBeNull();
    expect(run.stdout.trim(), run.stderr).toBe('WireError');
  });
});
