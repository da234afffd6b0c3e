import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { ClientKeys } from '../../../src/server/query-attack/client-key.js';

const HEX16 = /^[0-9a-f]{16}$/;
const SALT = 'test-salt';

describe('client keys', () => {
  it('are the peer address by default, hashed, and ignore X-Forwarded-For when no proxy is trusted', () => {
    const keys = new ClientKeys(undefined, [], SALT);
    const direct = keys.of({}, '203.0.113.7');
    assert.match(direct.hash, HEX16);
    assert.equal(direct.source, 'address');
    assert.equal(keys.of({ 'x-forwarded-for': '198.51.100.1' }, '203.0.113.7').hash, direct.hash, 'a spoofed header changes nothing');
    assert.equal(keys.of({}, '::ffff:203.0.113.7').hash, direct.hash, 'an IPv4 client on a dual-stack socket');
    assert.notEqual(keys.of({}, '203.0.113.8').hash, direct.hash);
  });

  it('come from the configured header when present, never showing its value', () => {
    const keys = new ClientKeys('x-api-key', [], SALT);
    const a = keys.of({ 'x-api-key': 'secret-a' }, '10.0.0.1');
    assert.equal(a.source, 'header');
    assert.equal(keys.of({ 'x-api-key': 'secret-a' }, '10.0.0.2').hash, a.hash, 'one key, any address');
    assert.notEqual(keys.of({ 'x-api-key': 'secret-b' }, '10.0.0.1').hash, a.hash);
    assert.ok(!a.hash.includes('secret'));
    assert.equal(keys.of({}, '10.0.0.1').source, 'address', 'without the header: the address');
    assert.equal(keys.of({ 'x-api-key': '  ' }, '10.0.0.1').source, 'address');
  });

  it('take the right-most untrusted hop behind trusted proxies', () => {
    const keys = new ClientKeys(undefined, ['10.0.0.0/8', '192.0.2.1'], SALT);
    const client = new ClientKeys(undefined, [], SALT).of({}, '198.51.100.9').hash;
    const via = keys.of({ 'x-forwarded-for': '6.6.6.6, 198.51.100.9, 10.1.1.1' }, '192.0.2.1');
    assert.equal(via.source, 'forwarded');
    assert.equal(via.hash, client, 'the same hash as the address seen directly; the spoofed left part is ignored');
    assert.equal(keys.of({ 'x-forwarded-for': '198.51.100.9' }, '203.0.113.5').hash, new ClientKeys(undefined, [], SALT).of({}, '203.0.113.5').hash, 'an untrusted peer: its own address');
    assert.equal(keys.of({}, '10.2.3.4').hash, new ClientKeys(undefined, [], SALT).of({}, '10.2.3.4').hash, 'a trusted peer without the header');
    assert.equal(keys.of({ 'x-forwarded-for': ['198.51.100.9', '10.0.0.5'] }, '10.0.0.6').hash, client, 'repeated headers');
  });

  it('stay 16 hex digits for hostile values: very long, unicode, malformed', () => {
    const keys = new ClientKeys('x-api-key', ['127.0.0.1'], SALT);
    const hostile = ['k'.repeat(100_000), 'clé-ünïcødé-🔑', '\u0000\u202e', ',,,,'];
    for (const value of hostile) assert.match(keys.of({ 'x-api-key': value }, '127.0.0.1').hash, HEX16);
    for (const value of hostile) assert.match(keys.of({ 'x-forwarded-for': value }, '127.0.0.1').hash, HEX16);
    assert.match(keys.of({ 'x-forwarded-for': Array.from({ length: 10_000 }, () => '127.0.0.1').join(',') }, '127.0.0.1').hash, HEX16);
    assert.match(keys.of({}, undefined).hash, HEX16);
  });

  it('are keyed by a secret: no key can be turned back into an address by hashing the address space', () => {
    const address = '203.0.113.7';
    const key = new ClientKeys(undefined, [], SALT).of({}, address).hash;
    // What an unsalted key would be: SHA-256 over the kind and the address, as anyone can compute.
    const unsalted = createHash('sha256').update('address').update('\0').update(address).digest('hex').slice(0, 16);
    assert.notEqual(key, unsalted);
    assert.equal(new ClientKeys(undefined, [], SALT).of({}, address).hash, key, 'the same secret on every pod: comparable keys');
    assert.notEqual(new ClientKeys(undefined, [], 'another').of({}, address).hash, key);
    // No secret configured: a random one per process, so two instances disagree.
    assert.notEqual(new ClientKeys(undefined, []).of({}, address).hash, new ClientKeys(undefined, []).of({}, address).hash);
  });
});
