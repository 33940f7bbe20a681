import type { ThrottlerStorage } from '@nestjs/throttler';
import { FailOpenStorage } from './rate-limit';

const quiet = { warn: jest.fn() };

describe('FailOpenStorage', () => {
  it('passes the inner storage record through', async () => {
    const record = { totalHits: 7, timeToExpire: 30, isBlocked: true, timeToBlockExpire: 12 };
    const inner: ThrottlerStorage = { increment: () => Promise.resolve(record) };
    await expect(
      new FailOpenStorage(inner, () => true, quiet).increment('k', 1000, 5, 1000, 'default'),
    ).resolves.toBe(record);
  });

  it('lets the request through, with one warning per outage, when the inner storage fails', async () => {
    const logger = { warn: jest.fn() };
    const inner: ThrottlerStorage = { increment: () => Promise.reject(new Error('Connection is closed.')) };
    const storage = new FailOpenStorage(inner, () => true, logger);
    for (let i = 0; i < 3; i++) {
      const r = await storage.increment('k', 1000, 5, 1000, 'default');
      expect(r.isBlocked).toBe(false);
      expect(r.totalHits).toBe(0);
    }
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(logger.warn.mock.calls[0][0]).toContain('Connection is closed.');
  });

  it('does not ask a storage whose connection is down', async () => {
    const logger = { warn: jest.fn() };
    const increment = jest.fn();
    const storage = new FailOpenStorage({ increment }, () => false, logger);
    const r = await storage.increment('k', 1000, 5, 1000, 'default');
    expect(r.isBlocked).toBe(false);
    expect(increment).not.toHaveBeenCalled();
    expect(logger.warn).toHaveBeenCalledWith('rate limit not enforced: Redis is not connected');
  });
});
