import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../../src/server/config.js';
import { startServer } from '../helpers.js';
import { writeSyntheticModel } from '../synthetic-model.js';

describe('listening address', () => {
  it('by default answers probes over IPv6 and IPv4 alike (IPv6-only and dual-stack clusters)', async () => {
    const file = writeSyntheticModel({ name: 'anywhere' });
    const { host } = loadConfig({ AWNET_MODELS: file });
    const server = await startServer([file], { AWNET_HOST: host }, { listen: true });
    try {
      const port = new URL(server.url).port;
      for (const address of ['[::1]', '127.0.0.1']) {
        assert.equal((await fetch(`http://${address}:${port}/v2/health/live`)).status, 200, address);
      }
      const admin = new URL(server.adminUrl).port;
      assert.equal((await fetch(`http://[::1]:${admin}/metrics`)).status, 200, 'the admin port too');
    } finally {
      await server.close();
    }
  });
});
