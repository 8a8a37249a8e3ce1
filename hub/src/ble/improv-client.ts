import {
  decodeImprovResult,
  encodeImprovRequest,
  errorName,
  IMPROV_CHARACTERISTICS,
  IMPROV_SERVICE,
  ImprovFrameError,
  ImprovReassembler,
  type ImprovRequest,
  type ImprovResult,
  splitWrites,
  stateName,
} from '../protocol/improv.js';
import { BleError, type BleLink } from './ble-manager.js';

export type ProvisioningFailure =
  | 'not_authorized'
  | 'unable_to_connect'
  | 'invalid_rpc'
  | 'unknown_rpc'
  | 'bad_hostname'
  | 'unknown'
  | 'bad_result'
  | 'timeout';

/** Why Wi-Fi provisioning ended without the camera on the network, in words the UI can explain. */
export class ProvisioningError extends Error {
  override name = 'ProvisioningError';
  constructor(
    readonly code: ProvisioningFailure,
    message: string,
  ) {
    super(message);
  }
}

interface Watch {
  state: number | null;
  error: number;
  results: ImprovResult[];
  resultError: Error | null;
  changed: Set<() => void>;
}

/**
 * The hub's side of Improv Wi-Fi over one BLE link: subscribes to state, error and result, writes RPC
 * frames in writes the smallest MTU carries, and waits for the camera's answers with timeouts.
 */
export async function openImprov(link: BleLink) {
  const watch: Watch = { state: null, error: 0, results: [], resultError: null, changed: new Set() };
  const changed = () => {
    for (const wake of [...watch.changed]) wake();
  };
  const results = new ImprovReassembler();
  await link.subscribe(IMPROV_SERVICE, IMPROV_CHARACTERISTICS.state, (value) => {
    watch.state = value[0] ?? null;
    changed();
  });
  await link.subscribe(IMPROV_SERVICE, IMPROV_CHARACTERISTICS.error, (value) => {
    watch.error = value[0] ?? 0;
    changed();
  });
  await link.subscribe(IMPROV_SERVICE, IMPROV_CHARACTERISTICS.rpcResult, (value) => {
    try {
      const frame = results.push(value);
      if (frame) watch.results.push(decodeImprovResult(frame));
    } catch (error) {
      watch.resultError = error as Error;
    }
    changed();
  });
  watch.state = (await link.read(IMPROV_SERVICE, IMPROV_CHARACTERISTICS.state))[0] ?? null;

  /** Resolves with `check`'s answer once it has one; rejects on timeout or a dropped link. */
  function until<T>(step: string, ms: number, check: () => T | undefined): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        watch.changed.delete(probe);
      };
      const probe = () => {
        try {
          const answer = check();
          if (answer === undefined) return;
          done();
          resolve(answer);
        } catch (error) {
          done();
          reject(error);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new ProvisioningError('timeout', `The camera did not answer ${step} within ${ms / 1000} s.`));
      }, ms);
      watch.changed.add(probe);
      link.dropped.catch((error) => {
        done();
        reject(error);
      });
      probe();
    });
  }

  const failOnError = () => {
    if (watch.error !== 0) {
      const code = errorName(watch.error);
      throw new ProvisioningError(
        code === 'none' ? 'unknown' : code,
        `The camera answered Improv error ${code}.`,
      );
    }
  };

  async function send(request: ImprovRequest): Promise<void> {
    watch.error = 0;
    watch.results = [];
    watch.resultError = null;
    for (const write of splitWrites(encodeImprovRequest(request)))
      await link.write(IMPROV_SERVICE, IMPROV_CHARACTERISTICS.rpcCommand, write);
  }

  async function result(step: string, ms: number): Promise<ImprovResult> {
    return until(step, ms, () => {
      if (watch.resultError instanceof ImprovFrameError)
        throw new ProvisioningError(
          'bad_result',
          `The camera's answer to ${step} was damaged: ${watch.resultError.message}.`,
        );
      failOnError();
      return watch.results.shift();
    });
  }

  return {
    state: () => (watch.state === null ? null : stateName(watch.state)),
    /** Blinks the camera's LED, so the person knows which one to press. */
    identify: () => send({ command: 'identify' }),
    async deviceInfo(ms = 5000): Promise<{ firmware: string; version: string; chip: string; name: string }> {
      await send({ command: 'device_info' });
      const { strings } = await result('device info', ms);
      const [firmware = '', version = '', chip = '', name = ''] = strings;
      return { firmware, version, chip, name };
    },
    /** Waits for the person to press the camera's button when the camera asks for it. */
    async authorized(ms: number): Promise<void> {
      await until('the button press', ms, () =>
        watch.state !== null && watch.state >= 2 ? true : undefined,
      ).catch((error: unknown) => {
        if (error instanceof ProvisioningError && error.code === 'timeout')
          throw new ProvisioningError(
            'not_authorized',
            `Nobody pressed the camera's button within ${ms / 1000} s.`,
          );
        throw error;
      });
    },
    /** Sends the Wi-Fi settings; resolves with the URLs the camera reports once it is on the network. */
    async provision(ssid: string, password: string, ms: number): Promise<string[]> {
      await send({ command: 'wifi_settings', ssid, password });
      await until('the Wi-Fi settings', ms, () => {
        failOnError();
        return watch.state === 4 ? true : undefined;
      });
      const answer = await result('the Wi-Fi settings', 5000).catch((error: unknown) => {
        // Provisioned without a URL is still provisioned; a damaged answer is not.
        if (error instanceof ProvisioningError && error.code === 'timeout')
          return { command: 'wifi_settings', strings: [] };
        throw error;
      });
      return answer.strings;
    },
  };
}

export type ImprovSession = Awaited<ReturnType<typeof openImprov>>;
export { BleError };
