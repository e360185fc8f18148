import type { ModelMetrics } from '../shared/model-artifact.js';
import type { CustomerTask } from './train-customer.js';

/** Messages between the training job and its worker threads. */
export interface WorkerRequest {
  type: 'train';
  task: CustomerTask;
}

export type WorkerReply =
  | { type: 'ready' }
  | { type: 'trained'; customerId: string; metrics: ModelMetrics; ms: number; stanFits: number }
  | { type: 'failed'; customerId: string; reason: string; ms: number };
