import path from 'node:path';
import fs from 'node:fs/promises';
import type { InternalS3 } from '../s3/internal-client.js';
import { EndpointRuntime, type RuntimeSettings } from '../runtime-api/endpoint-runtime.js';
import { validationError } from './errors.js';
import { epochSeconds } from './job-support.js';
import { listPage, type ListRequest } from './listing.js';
import type { StateStore } from './state-store.js';
import { parseS3Uri, RequestChecker, S3_URI_PATTERN } from './validation.js';

const ROLE_ARN = /^arn:aws[a-z\-]*:iam::\d{12}:role\/?[a-zA-Z_0-9+=,.@\-_/]+$/;

export interface ContainerDefinition {
  Image?: string;
  Mode?: 'SingleModel' | 'MultiModel';
  ModelDataUrl?: string;
  Environment?: Record<string, string>;
  [member: string]: unknown;
}

export interface ModelRecord {
  ModelName: string;
  ModelArn: string;
  PrimaryContainer?: ContainerDefinition;
  Containers?: ContainerDefinition[];
  ExecutionRoleArn?: string;
  CreationTime: number;
  [member: string]: unknown;
}

export interface ProductionVariant {
  VariantName: string;
  ModelName: string;
  InstanceType?: string;
  InitialInstanceCount?: number;
  InitialVariantWeight?: number;
  [member: string]: unknown;
}

export interface EndpointConfigRecord {
  EndpointConfigName: string;
  EndpointConfigArn: string;
  ProductionVariants: ProductionVariant[];
  CreationTime: number;
  [member: string]: unknown;
}

export interface EndpointRecord {
  EndpointName: string;
  EndpointArn: string;
  EndpointConfigName: string;
  EndpointStatus: 'Creating' | 'Updating' | 'InService' | 'Deleting' | 'Failed' | 'OutOfService' | 'SystemUpdating' | 'RollingBack';
  FailureReason?: string;
  ProductionVariants?: object[];
  CreationTime: number;
  LastModifiedTime: number;
}

const ENDPOINT_STATUSES = ['OutOfService', 'Creating', 'Updating', 'SystemUpdating', 'RollingBack', 'InService', 'Deleting', 'Failed', 'UpdateRollbackFailed'];

/**
 * Models, endpoint configs and endpoints. Each endpoint runs its variant's inference container as
 * an {@link EndpointRuntime}; `runtime(name)` is what InvokeEndpoint reaches.
 */
export class EndpointService {
  readonly #runtimes = new Map<string, EndpointRuntime>();
  /** Creation or update in progress, so a delete waits for it. */
  readonly #pending = new Map<string, Promise<void>>();

  constructor(
    private readonly o: {
      region: string;
      accountId: string;
      endpointsDir: string;
      s3: InternalS3;
      settings: RuntimeSettings;
      models: StateStore<ModelRecord>;
      configs: StateStore<EndpointConfigRecord>;
      endpoints: StateStore<EndpointRecord>;
    },
  ) {}

  runtime(name: string): EndpointRuntime | undefined {
    return this.#runtimes.get(name);
  }

  #arn(kind: string, name: string): string {
    return `arn:aws:sagemaker:${this.o.region}:${this.o.accountId}:${kind}/${name.toLowerCase()}`;
  }

  /** The stored record `name` names, after checking the name as AWS does. */
  #find<T extends object>(store: StateStore<T>, name: unknown, field: string, arnKind: string, label: string): T {
    const check = new RequestChecker();
    check.name(name, field);
    check.throwIfAny();
    const record = store.get(name as string);
    if (!record) throw validationError(`Could not find ${label} "${this.#arn(arnKind, name as string)}".`);
    return record;
  }

  /** Starts the containers of endpoints a previous server left in service. */
  async restore(): Promise<void> {
    for (const endpoint of this.o.endpoints.values()) {
      if (endpoint.EndpointStatus === 'Deleting') {
        await this.o.endpoints.delete(endpoint.EndpointName);
        continue;
      }
      if (endpoint.EndpointStatus === 'Failed') continue;
      endpoint.EndpointStatus = 'Creating';
      await this.o.endpoints.save(endpoint.EndpointName, endpoint);
      this.#startInBackground(endpoint, endpoint.EndpointConfigName);
    }
  }

  createModel(input: Record<string, unknown>): object {
    const check = new RequestChecker();
    check.name(input.ModelName, 'ModelName');
    check.string(input.ExecutionRoleArn, 'ExecutionRoleArn', { min: 20, max: 2048, pattern: ROLE_ARN });
    const containers: unknown[] = input.PrimaryContainer !== undefined ? [input.PrimaryContainer] : Array.isArray(input.Containers) ? input.Containers : [];
    check.custom(containers.length > 0, 'Either PrimaryContainer or Containers must be specified.');
    containers.forEach((c, i) => {
      const at = input.PrimaryContainer !== undefined ? 'PrimaryContainer' : `Containers.${i + 1}.member`;
      if (!check.object(c, at, true)) return;
      check.string(c.Image, `${at}.Image`, { max: 255 });
      check.string(c.Mode, `${at}.Mode`, { oneOf: ['SingleModel', 'MultiModel'] });
      check.string(c.ModelDataUrl, `${at}.ModelDataUrl`, { max: 1024, pattern: S3_URI_PATTERN });
      check.environment(c.Environment, `${at}.Environment`, { maxEntries: 100, maxKey: 1024, maxValue: 1024 });
    });
    check.throwIfAny();
    const name = input.ModelName as string;
    const arn = this.#arn('model', name);
    if (this.o.models.has(name)) throw validationError(`Cannot create already existing model "${arn}".`);
    void this.o.models.save(name, { ...input, ModelName: name, ModelArn: arn, CreationTime: epochSeconds() } as ModelRecord);
    return { ModelArn: arn };
  }

  describeModel(input: Record<string, unknown>): object {
    return this.#model(input.ModelName);
  }

  #model(name: unknown): ModelRecord {
    return this.#find(this.o.models, name, 'ModelName', 'model', 'model');
  }

  async deleteModel(input: Record<string, unknown>): Promise<object> {
    const record = this.#model(input.ModelName);
    await this.o.models.delete(record.ModelName);
    return {};
  }

  createEndpointConfig(input: Record<string, unknown>): object {
    const check = new RequestChecker();
    check.name(input.EndpointConfigName, 'EndpointConfigName');
    if (check.array(input.ProductionVariants, 'ProductionVariants', { required: true, min: 1, max: 10 })) {
      input.ProductionVariants.forEach((v, i) => {
        const at = `ProductionVariants.${i + 1}.member`;
        if (!check.object(v, at, true)) return;
        check.name(v.VariantName, `${at}.VariantName`);
        check.name(v.ModelName, `${at}.ModelName`);
        check.integer(v.InitialInstanceCount, `${at}.InitialInstanceCount`, { min: 1 });
        check.string(v.InstanceType, `${at}.InstanceType`, { pattern: /^ml\.[a-z0-9]+\.[a-z0-9]+$/ });
      });
    }
    check.throwIfAny();
    const name = input.EndpointConfigName as string;
    const arn = this.#arn('endpoint-config', name);
    if (this.o.configs.has(name)) throw validationError(`Cannot create already existing endpoint configuration "${arn}".`);
    for (const variant of input.ProductionVariants as ProductionVariant[]) {
      if (!this.o.models.has(variant.ModelName)) throw validationError(`Could not find model "${this.#arn('model', variant.ModelName)}".`);
    }
    void this.o.configs.save(name, { ...input, EndpointConfigName: name, EndpointConfigArn: arn, CreationTime: epochSeconds() } as EndpointConfigRecord);
    return { EndpointConfigArn: arn };
  }

  describeEndpointConfig(input: Record<string, unknown>): object {
    return this.#config(input.EndpointConfigName);
  }

  #config(name: unknown): EndpointConfigRecord {
    return this.#find(this.o.configs, name, 'EndpointConfigName', 'endpoint-config', 'endpoint configuration');
  }

  async deleteEndpointConfig(input: Record<string, unknown>): Promise<object> {
    const record = this.#config(input.EndpointConfigName);
    await this.o.configs.delete(record.EndpointConfigName);
    return {};
  }

  createEndpoint(input: Record<string, unknown>): object {
    const check = new RequestChecker();
    check.name(input.EndpointName, 'EndpointName');
    check.name(input.EndpointConfigName, 'EndpointConfigName');
    check.throwIfAny();
    const name = input.EndpointName as string;
    const arn = this.#arn('endpoint', name);
    if (this.o.endpoints.has(name)) throw validationError(`Cannot create already existing endpoint "${arn}".`);
    const config = this.#config(input.EndpointConfigName);
    const now = epochSeconds();
    const record: EndpointRecord = { EndpointName: name, EndpointArn: arn, EndpointConfigName: config.EndpointConfigName, EndpointStatus: 'Creating', CreationTime: now, LastModifiedTime: now };
    void this.o.endpoints.save(name, record);
    this.#startInBackground(record, config.EndpointConfigName);
    return { EndpointArn: arn };
  }

  describeEndpoint(input: Record<string, unknown>): object {
    return this.#endpoint(input.EndpointName);
  }

  #endpoint(name: unknown): EndpointRecord {
    return this.#find(this.o.endpoints, name, 'EndpointName', 'endpoint', 'endpoint');
  }

  updateEndpoint(input: Record<string, unknown>): object {
    const record = this.#endpoint(input.EndpointName);
    const config = this.#config(input.EndpointConfigName);
    if (record.EndpointStatus !== 'InService') {
      throw validationError(`Cannot update in-progress endpoint "${record.EndpointArn}".`);
    }
    record.EndpointStatus = 'Updating';
    record.LastModifiedTime = epochSeconds();
    void this.o.endpoints.save(record.EndpointName, record);
    this.#startInBackground(record, config.EndpointConfigName);
    return { EndpointArn: record.EndpointArn };
  }

  async deleteEndpoint(input: Record<string, unknown>): Promise<object> {
    const record = this.#endpoint(input.EndpointName);
    const name = record.EndpointName;
    if (record.EndpointStatus === 'Deleting') return {};
    record.EndpointStatus = 'Deleting';
    record.LastModifiedTime = epochSeconds();
    await this.o.endpoints.save(name, record);
    const pending = this.#pending.get(name) ?? Promise.resolve();
    void pending.then(async () => {
      const runtime = this.#runtimes.get(name);
      this.#runtimes.delete(name);
      await runtime?.stop();
      await this.o.endpoints.delete(name);
    });
    return {};
  }

  listEndpoints(input: Record<string, unknown>): object {
    const { page, nextToken } = listPage(
      this.o.endpoints.values(),
      (e) => ({ name: e.EndpointName, status: e.EndpointStatus, creationTime: e.CreationTime, lastModifiedTime: e.LastModifiedTime }),
      input as ListRequest,
      ENDPOINT_STATUSES,
    );
    return {
      Endpoints: page.map((e) => ({ EndpointName: e.EndpointName, EndpointArn: e.EndpointArn, CreationTime: e.CreationTime, LastModifiedTime: e.LastModifiedTime, EndpointStatus: e.EndpointStatus })),
      ...(nextToken ? { NextToken: nextToken } : {}),
    };
  }

  /** Brings up `configName`'s container; on success it replaces the endpoint's current one. */
  #startInBackground(record: EndpointRecord, configName: string): void {
    const previous = this.#pending.get(record.EndpointName) ?? Promise.resolve();
    const work = previous.then(() => this.#start(record, configName));
    this.#pending.set(record.EndpointName, work);
    void work.finally(() => {
      if (this.#pending.get(record.EndpointName) === work) this.#pending.delete(record.EndpointName);
    });
  }

  async #start(record: EndpointRecord, configName: string): Promise<void> {
    const name = record.EndpointName;
    const updating = record.EndpointStatus === 'Updating';
    try {
      const config = this.o.configs.get(configName);
      if (!config) throw new Error(`endpoint configuration ${configName} no longer exists`);
      const variant = config.ProductionVariants[0] as ProductionVariant;
      const model = this.o.models.get(variant.ModelName);
      if (!model) throw new Error(`model ${variant.ModelName} no longer exists`);
      const container = model.PrimaryContainer ?? model.Containers?.[0];
      if (container?.Mode !== 'MultiModel') throw new Error(`local mode serves multi-model endpoints only; model ${model.ModelName} is not Mode MultiModel`);
      const modelData = container.ModelDataUrl ? parseS3Uri(container.ModelDataUrl) : undefined;
      if (!modelData) throw new Error(`model ${model.ModelName} needs ModelDataUrl s3://bucket/prefix/ for a multi-model endpoint`);
      const endpointDir = path.join(this.o.endpointsDir, name, configName);
      await fs.mkdir(endpointDir, { recursive: true });
      const runtime = await EndpointRuntime.start({
        name,
        variantName: variant.VariantName,
        image: container.Image ?? '',
        environment: container.Environment ?? {},
        modelData,
        endpointDir,
        s3: this.o.s3,
        settings: this.o.settings,
      });
      if (this.#deleting(name)) {
        await runtime.stop();
        return;
      }
      const old = this.#runtimes.get(name);
      this.#runtimes.set(name, runtime);
      await old?.stop();
      const now = epochSeconds();
      record.EndpointConfigName = configName;
      record.EndpointStatus = 'InService';
      delete record.FailureReason;
      record.LastModifiedTime = now;
      record.ProductionVariants = [
        {
          VariantName: variant.VariantName,
          DeployedImages: [{ SpecifiedImage: container.Image, ResolvedImage: container.Image, ResolutionTime: now }],
          CurrentWeight: variant.InitialVariantWeight ?? 1,
          DesiredWeight: variant.InitialVariantWeight ?? 1,
          CurrentInstanceCount: variant.InitialInstanceCount ?? 1,
          DesiredInstanceCount: variant.InitialInstanceCount ?? 1,
        },
      ];
      this.o.settings.log(`[${name}] endpoint InService (config ${configName}, inference container on port ${runtime.port})`);
    } catch (error) {
      if (this.#deleting(name)) return;
      const reason = (error as Error).message;
      this.o.settings.log(`[${name}] endpoint ${updating ? 'update' : 'creation'} failed: ${reason}`);
      // A failed update leaves the endpoint serving its previous configuration, as AWS rolls back.
      record.EndpointStatus = updating && this.#runtimes.has(name) ? 'InService' : 'Failed';
      record.FailureReason = reason.slice(0, 1024);
      record.LastModifiedTime = epochSeconds();
    }
    if (this.o.endpoints.has(name) && !this.#deleting(name)) await this.o.endpoints.save(name, record);
  }

  #deleting(name: string): boolean {
    return this.o.endpoints.get(name)?.EndpointStatus === 'Deleting';
  }

  async shutdown(): Promise<void> {
    await Promise.all([...this.#pending.values()].map((p) => p.catch(() => undefined)));
    await Promise.all([...this.#runtimes.values()].map((r) => r.stop()));
    this.#runtimes.clear();
    await Promise.all([this.o.models.flush(), this.o.configs.flush(), this.o.endpoints.flush()]);
  }
}
