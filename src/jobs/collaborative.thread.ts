// Trains a collaborative model off the worker's event loop (the inversion is seconds of CPU).
import { parentPort, workerData } from 'node:worker_threads';
import {
  encodeCollaborative,
  trainCollaborative,
  type CollaborativeParams,
} from '../domain/personalization/collaborative';

interface Input {
  histories: string[][];
  params: CollaborativeParams;
}

if (parentPort) {
  const { histories, params } = workerData as Input;
  const model = encodeCollaborative(trainCollaborative(histories, params));
  const out = new Uint8Array(model.length);
  out.set(model);
  parentPort.postMessage(out, [out.buffer]);
}
