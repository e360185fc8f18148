import http from 'node:http';
import net from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import type { ContainerCommand } from '../sagemaker/container-command.js';
import { describeExit, InstanceProcess } from '../sagemaker/instance-process.js';

export interface ContainerResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/**
 * An endpoint's inference container: `serve` as a child process on a free loopback port, reached
 * through one keep-alive agent so warm invokes reuse connections.
 */
export class InferenceContainer {
  readonly #agent = new http.Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 64 });

  private constructor(
    readonly port: number,
    readonly process: InstanceProcess,
  ) {}

  /** Starts the container and resolves once `/ping` answers 200 (AWS: within 4 minutes). */
  static async start(o: {
    name: string;
    command: ContainerCommand;
    requestEnv: Readonly<Record<string, string>>;
    env: Record<string, string>;
    pidFile: string;
    log: (line: string) => void;
    startupTimeoutMs: number;
  }): Promise<InferenceContainer> {
    const port = await freePort();
    const instance = new InstanceProcess({
      job: o.name,
      host: 'model',
      command: o.command,
      requestEnv: o.requestEnv,
      env: { ...o.env, SAGEMAKER_BIND_TO_PORT: String(port), SAGEMAKER_MULTI_MODEL: 'true', SAGEMAKER_SAFE_PORT_RANGE: '25000-25999', INFERENCE_HOST: '127.0.0.1' },
      pidFile: o.pidFile,
      log: o.log,
    });
    const container = new InferenceContainer(port, instance);
    const deadline = Date.now() + o.startupTimeoutMs;
    let exited: string | undefined;
    void instance.exited.then((exit) => (exited = describeExit(exit)));
    for (;;) {
      if (exited) throw new Error(`the inference container exited before answering /ping: ${exited}`);
      if (Date.now() > deadline) {
        await instance.stop(1000);
        throw new Error(`the inference container did not answer /ping with 200 within ${o.startupTimeoutMs} ms`);
      }
      const ok = await container
        .request('GET', '/ping', {}, undefined, 2000)
        .then((r) => r.status === 200)
        .catch(() => false);
      if (ok) return container;
      // A refused connection costs next to nothing, and the container answers within a second.
      await delay(10);
    }
  }

  request(method: string, path: string, headers: http.OutgoingHttpHeaders, body: Buffer | string | undefined, timeoutMs: number): Promise<ContainerResponse> {
    return new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: this.port, method, path, headers, agent: this.#agent, timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`the inference container did not answer ${method} ${path} within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  async stop(graceMs: number): Promise<void> {
    this.#agent.destroy();
    await this.process.stop(graceMs);
  }
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
