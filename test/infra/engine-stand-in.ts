import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import * as pulumi from '@pulumi/pulumi';
import { planMocks, PLAN_ACCOUNT_ID } from '../../infra/plan/mocks.js';

/**
 * A stand-in for the Pulumi engine: the resource monitor and engine gRPC services a program talks to,
 * backed by Pulumi's own mock monitor and the plan's mocks. With it, the program runs through
 * Pulumi's real program runner (`@pulumi/pulumi/cmd/run`), started the way the Node.js language host
 * starts it, so the runtime options in Pulumi.yaml are exercised without the Pulumi CLI.
 */

// gRPC and the protobuf modules are @pulumi/pulumi's own: the ones its runner speaks.
const fromPulumi = createRequire(createRequire(import.meta.url).resolve('@pulumi/pulumi'));
const grpc = fromPulumi('@grpc/grpc-js');
const resourceGrpc = fromPulumi('./proto/resource_grpc_pb.js');
const resourceProto = fromPulumi('./proto/resource_pb.js');
const engineGrpc = fromPulumi('./proto/engine_grpc_pb.js');
const engineProto = fromPulumi('./proto/engine_pb.js');
const { Empty } = fromPulumi('google-protobuf/google/protobuf/empty_pb.js');

export interface ProgramRun {
  exitCode: number | null;
  output: string;
  /** URNs the program registered, in order. */
  registered: string[];
}

export async function runProgramUnderEngine(options: {
  projectDir: string;
  project: string;
  stack: string;
  program: string;
  nodeArgs: readonly string[];
  typescript: boolean;
  config: Record<string, string>;
}): Promise<ProgramRun> {
  await pulumi.runtime.setMocks(
    planMocks({ accountId: PLAN_ACCOUNT_ID, region: options.config['aws:region'] ?? 'us-east-1', partition: 'aws' }, false),
    options.project,
    options.stack,
  );
  const monitor = pulumi.runtime.getMonitor() as any;
  const registered: string[] = [];
  const server = new grpc.Server();
  server.addService(resourceGrpc.ResourceMonitorService, {
    supportsFeature: (call: any, callback: any) => {
      const response = new resourceProto.SupportsFeatureResponse();
      response.setHassupport(call.request.getId() !== 'outputValues' && call.request.getId() !== 'transforms');
      callback(null, response);
    },
    registerResource: (call: any, callback: any) =>
      monitor.registerResource(call.request, (error: Error | null, response: any) => {
        if (error === null) registered.push(response.getUrn());
        callback(error, response);
      }),
    registerResourceOutputs: (call: any, callback: any) => monitor.registerResourceOutputs(call.request, (error: Error | null) => callback(error, new Empty())),
    invoke: (call: any, callback: any) => monitor.invoke(call.request, callback),
    readResource: (call: any, callback: any) => monitor.readResource(call.request, callback),
    registerPackage: (call: any, callback: any) => monitor.registerPackage(call.request, callback),
    signalAndWaitForShutdown: (_call: any, callback: any) => callback(null, new Empty()),
  });
  let output = '';
  server.addService(engineGrpc.EngineService, {
    log: (call: any, callback: any) => {
      output += `${call.request.getMessage()}\n`;
      callback(null, new Empty());
    },
    getRootResource: (_call: any, callback: any) => callback(null, new engineProto.GetRootResourceResponse()),
    setRootResource: (_call: any, callback: any) => callback(null, new engineProto.SetRootResourceResponse()),
    startDebugging: (_call: any, callback: any) => callback(null, new Empty()),
  });
  const port: number = await new Promise((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error: Error | null, bound: number) => (error ? reject(error) : resolve(bound)));
  });
  try {
    const address = `127.0.0.1:${port}`;
    const runner = fromPulumi.resolve('./cmd/run');
    const child = spawn(
      process.execPath,
      [...options.nodeArgs, runner, '--monitor', address, '--engine', address, '--project', options.project, '--stack', options.stack, '--pwd', options.projectDir, options.program],
      {
        cwd: options.projectDir,
        env: { ...process.env, PULUMI_NODEJS_TYPESCRIPT: String(options.typescript), PULUMI_CONFIG: JSON.stringify(options.config) },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exitCode: number | null = await new Promise((resolve) => child.on('exit', resolve));
    return { exitCode, output, registered };
  } finally {
    server.forceShutdown();
  }
}
