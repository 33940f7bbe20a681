// Two (then three) real worker processes share the signals upkeep: one holds the lease and consumes; killing it
// (SIGKILL: the lease lapses) or stopping it (SIGTERM: it hands the lease back) lets another take over, and every
// event is applied exactly once. Needs dist/ (npm run build; npm test builds first).
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startStack, waitFor, type Stack } from './support/stack';

const WORKER = path.resolve(__dirname, '../dist/workers/main.js');
const LEASE_MS = 6000;
const USERS = 100;
const ITEMS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'];

describe('signals upkeep lease (real worker processes)', () => {
  let s: Stack;
  const workers: ChildProcess[] = [];
  const C = '/v1/catalogues/lease';
  const key = (suffix: string) => `${s.config.REDIS_PREFIX}:${suffix}`;
  // One instant for every event: popularity is then exactly 5 per purchase.
  const ts = Date.now() - 60_000;
  let sent = 0;

  const startWorker = (): ChildProcess => {
    const env = {
      ...process.env,
      REDIS_URL: s.config.REDIS_URL,
      REDIS_PREFIX: s.config.REDIS_PREFIX,
      MODEL_DIR: s.config.MODEL_DIR_ABS,
      ADMIN_API_KEY: s.config.ADMIN_API_KEY,
      INDEX_DIR: s.config.INDEX_DIR_ABS,
      SIGNALS_LEASE_MS: String(LEASE_MS),
      LOG_LEVEL: 'warn',
    };
    const child = spawn(process.execPath, [WORKER], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    workers.push(child);
    return child;
  };
  const holderPid = async (): Promise<number | undefined> => {
    const token = await s.redis.get(key('signals:lease'));
    return token ? Number(token.split(':')[1]) : undefined;
  };
  const exited = (w: ChildProcess) =>
    w.exitCode !== null || w.signalCode !== null
      ? Promise.resolve()
      : new Promise<void>((r) => w.once('exit', () => r()));
  /** `perUser` purchases per user, each user's k-th event on item (u + k) mod 10, in batches of 1000. */
  const ingest = async (perUser: number): Promise<void> => {
    const events: object[] = [];
    const done = sent / USERS;
    for (let k = done; k < done + perUser; k++)
      for (let u = 0; u < USERS; u++)
        events.push({
          type: 'purchase',
          userId: `u${u}`,
          itemId: ITEMS[(u + k) % ITEMS.length],
          timestamp: ts,
        });
    for (let i = 0; i < events.length; i += 1000) {
      const r = await s.call('POST', `${C}/events`, { events: events.slice(i, i + 1000) });
      expect(r.status).toBe(202);
    }
    sent += events.length;
  };
  const caughtUp = () =>
    waitFor(
      async () => {
        const lag = (await s.call('GET', `${C}/events/lag`)).body;
        return lag.pending === 0 && lag.applied >= sent ? lag : undefined;
      },
      'upkeep to catch up',
      60_000,
    );
  /** Every event applied once and in order: popularity sums to 5 per purchase, histories hold each user's sequence. */
  const expectExactlyOnceInOrder = async (): Promise<void> => {
    const pop = await s.redis.zrange(key('cat:lease:popularity'), 0, -1, 'WITHSCORES');
    let total = 0;
    for (let i = 1; i < pop.length; i += 2) total += Number(pop[i]);
    expect(total).toBeCloseTo(5 * sent, 6);
    for (let u = 0; u < USERS; u++) {
      const items = (await s.redis.lrange(key(`cat:lease:hist:u:u${u}`), 0, -1)).map((l) => l.split('|')[0]);
      const expected = Array.from(
        { length: sent / USERS },
        (_, k) => ITEMS[(u + k) % ITEMS.length],
      ).reverse();
      expect(items).toEqual(expected);
    }
  };

  beforeAll(async () => {
    if (!fs.existsSync(WORKER)) throw new Error(`${WORKER} is missing: run 'npm run build' first`);
    s = await startStack('lease', { worker: false });
    const put = await s.call('PUT', `${C}/items`, {
      items: ITEMS.map((id) => ({ id, title: `item ${id}` })),
    });
    expect(put.status).toBe(202);
  });
  afterAll(async () => {
    for (const w of workers) w.kill('SIGKILL');
    await Promise.all(workers.map(exited));
    await s?.close();
  });

  it('one replica consumes; SIGKILL passes the lease on after its TTL, SIGTERM at once; nothing applied twice', async () => {
    // A backlog first, so both replicas start with plenty to read at once.
    await ingest(50);
    const [one, two] = [startWorker(), startWorker()];
    const first = await waitFor(holderPid, 'a replica to take the lease', 120_000);
    expect([one.pid, two.pid]).toContain(first);
    const holder = first === one.pid ? one : two;
    const other = holder === one ? two : one;

    // Kill the holder as soon as it has applied something (usually mid-backlog).
    await waitFor(
      async () => (await s.call('GET', `${C}/events/lag`)).body.applied > 0,
      'first batch',
      120_000,
      5,
    );
    const atKill = (await s.call('GET', `${C}/events/lag`)).body;
    holder.kill('SIGKILL');
    await exited(holder);
    console.log(`SIGKILL with ${atKill.applied} applied, ${atKill.pending} pending`);
    const killedAt = Date.now();
    await ingest(30);
    const second = await waitFor(
      async () => {
        const pid = await holderPid();
        return pid !== undefined && pid !== first ? pid : undefined;
      },
      'the other replica to take over',
      LEASE_MS + 15_000,
    );
    expect(second).toBe(other.pid);
    // The dead holder's lease had to lapse first.
    expect(Date.now() - killedAt).toBeGreaterThan(LEASE_MS / 2);
    await caughtUp();
    await expectExactlyOnceInOrder();

    // A third replica joins; the holder is stopped gracefully and hands the lease back without waiting for the TTL.
    const three = startWorker();
    await waitFor(
      async () =>
        ((await s.redis.client('LIST')) as string).split('\n').filter((l) => l.includes('name=signals'))
          .length >= 2,
      'the third replica to connect',
      120_000,
      100,
    );
    await ingest(20);
    other.kill('SIGTERM');
    await exited(other);
    const stoppedAt = Date.now();
    const third = await waitFor(
      async () => {
        const pid = await holderPid();
        return pid === three.pid ? pid : undefined;
      },
      'the third replica to take over',
      LEASE_MS,
      20,
    );
    expect(third).toBe(three.pid);
    expect(Date.now() - stoppedAt).toBeLessThan(LEASE_MS / 2);
    await caughtUp();
    await expectExactlyOnceInOrder();
  }, 300_000);
});
