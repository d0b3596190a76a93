/** A stand-in for HermesClient: answers requests from a table of handlers. */
import { vi } from 'vitest';
import { EventEmitter } from './mocks/vscode';
import type { HermesClient } from '../src/client';

export type Handler = (params: Record<string, unknown>) => unknown;

export function fakeClient(handlers: Record<string, Handler>) {
  const providersChanged = new EventEmitter<unknown>();
  const calls: { method: string; params: Record<string, unknown> }[] = [];
  const client = {
    request: vi.fn(async (method: string, params: Record<string, unknown> = {}) => {
      calls.push({ method, params });
      const handler = handlers[method];
      if (!handler) {
        throw new Error(`unexpected request ${method}`);
      }
      return handler(params);
    }),
    onProvidersChanged: providersChanged.event,
    onProgress: vi.fn(() => ({ dispose: () => undefined })),
    serverVersion: '0.1.0',
    showLogs: vi.fn(),
    restart: vi.fn(async () => undefined),
  };
  return { client: client as unknown as HermesClient, raw: client, calls, providersChanged };
}
