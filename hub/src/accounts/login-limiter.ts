import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { Config } from '../config/schema.js';
import { tooManyRequests } from '../http/errors.js';

/**
 * Counts failed sign-ins (and setup-code guesses) per client address and per account name.
 * Either limit reached → 429 with Retry-After until the window passes; a success clears the account count.
 */
export function createLoginLimiter(config: Config['auth']) {
  const perIp = new RateLimiterMemory({
    keyPrefix: 'ip',
    points: config.loginAttemptsPerIp,
    duration: config.loginWindowSeconds,
  });
  const perAccount = new RateLimiterMemory({
    keyPrefix: 'account',
    points: config.loginAttemptsPerAccount,
    duration: config.loginWindowSeconds,
  });

  async function blockedFor(limiter: RateLimiterMemory, key: string, limit: number): Promise<number> {
    const state = await limiter.get(key);
    return state && state.consumedPoints >= limit ? Math.max(1, Math.ceil(state.msBeforeNext / 1000)) : 0;
  }

  return {
    /** Throws 429 when either limit is already used up; call before checking the password. */
    async assertAllowed(ip: string, account: string): Promise<void> {
      const wait = Math.max(
        await blockedFor(perIp, ip, config.loginAttemptsPerIp),
        account ? await blockedFor(perAccount, account, config.loginAttemptsPerAccount) : 0,
      );
      if (wait > 0) throw tooManyRequests(wait);
    },

    async recordFailure(ip: string, account: string): Promise<void> {
      const swallowLimit = (error: unknown) => {
        if (!(error instanceof RateLimiterRes)) throw error;
      };
      await perIp.consume(ip).catch(swallowLimit);
      if (account) await perAccount.consume(account).catch(swallowLimit);
    },

    async recordSuccess(account: string): Promise<void> {
      await perAccount.delete(account);
    },
  };
}

export type LoginLimiter = ReturnType<typeof createLoginLimiter>;
