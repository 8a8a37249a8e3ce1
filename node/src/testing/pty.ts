import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { SerialPort } from 'serialport';

/**
 * A virtual serial cable: two ptys joined by socat, one end for the agent, the other for the test's
 * scripted Arduino (a real SerialPort, so bytes go through the kernel's tty layer as with USB serial).
 */
export async function startPty(dir: string) {
  const nodeEnd = path.join(dir, 'ttyNODE');
  const arduinoEnd = path.join(dir, 'ttyARDUINO');
  let socat: ChildProcess | null = null;

  async function plugIn() {
    socat = spawn('socat', [`pty,raw,echo=0,link=${nodeEnd}`, `pty,raw,echo=0,link=${arduinoEnd}`], {
      stdio: 'ignore',
    });
    const deadline = Date.now() + 5000;
    while (!(existsSync(nodeEnd) && existsSync(arduinoEnd))) {
      if (Date.now() > deadline) throw new Error('socat did not make the ptys (is socat installed?)');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const arduino = new SerialPort({ path: arduinoEnd, baudRate: 9600, autoOpen: false });
    await new Promise<void>((resolve, reject) =>
      arduino.open((error) => (error ? reject(error) : resolve())),
    );
    let received = '';
    arduino.on('data', (chunk: Buffer) => {
      received += chunk.toString('utf8');
    });
    return {
      arduino,
      received: () => received,
      write: (data: string | Buffer) =>
        new Promise<void>((resolve, reject) =>
          arduino.write(data, (error) => (error ? reject(error) : arduino.drain(() => resolve()))),
        ),
    };
  }

  let cable = await plugIn();
  return {
    nodeEnd,
    get arduino() {
      return cable;
    },
    /** The cable pulled: both ptys vanish (the agent sees its port close). */
    async unplug() {
      await new Promise<void>((resolve) => cable.arduino.close(() => resolve()));
      const exited = new Promise((resolve) => socat?.once('exit', resolve));
      socat?.kill('SIGTERM');
      await exited;
    },
    /** Plugged in again: the same path, a new device behind it. */
    async plugIn() {
      cable = await plugIn();
    },
    async stop() {
      if (cable.arduino.isOpen) await new Promise<void>((resolve) => cable.arduino.close(() => resolve()));
      if (socat && socat.exitCode === null) {
        const exited = new Promise((resolve) => socat?.once('exit', resolve));
        socat.kill('SIGTERM');
        await exited;
      }
    },
  };
}
