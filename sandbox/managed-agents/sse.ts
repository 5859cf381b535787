import type { ServerResponse } from 'node:http';
import type { EventSubscriber, StoredEvent } from './event-log.js';

/**
 * One `GET /v1/sessions/{id}/events/stream` connection. Every frame carries an `event:` line
 * (the SDK drops frames without one); heartbeats are `event: ping`, which the SDK skips.
 */
export class SseConnection implements EventSubscriber {
  private readonly heartbeat: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly res: ServerResponse,
    /** Event types whose previews (`event_start` + `event_delta`) were requested. */
    private readonly deltas: ReadonlySet<string>,
    heartbeatMs: number,
  ) {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    // The SDK's stream() resolves on response headers; send them now rather than with the first event.
    res.flushHeaders();
    this.heartbeat = setInterval(() => this.write('ping', { type: 'ping' }), heartbeatMs);
    this.heartbeat.unref();
    res.on('close', () => this.stop());
  }

  /** Called when the client goes away, so the owner can unsubscribe. */
  onClose(listener: () => void): void {
    this.res.on('close', listener);
  }

  deliver(event: StoredEvent): void {
    if (event.type === 'agent.message' && this.deltas.has('agent.message')) this.writePreview(event);
    this.write(event.type, event);
  }

  close(): void {
    if (this.closed) return;
    this.stop();
    this.res.end();
  }

  private writePreview(event: StoredEvent): void {
    this.write('event_start', { type: 'event_start', event: { type: event.type, id: event.id } });
    const blocks = Array.isArray(event.content) ? (event.content as { type: string; text?: string }[]) : [];
    blocks.forEach((block, index) => {
      if (block.type !== 'text' || block.text === undefined) return;
      this.write('event_delta', {
        type: 'event_delta',
        event_id: event.id,
        delta: { type: 'content_delta', index, content: { type: 'text', text: block.text } },
      });
    });
  }

  private write(type: string, data: unknown): void {
    if (this.closed) return;
    this.res.write(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  private stop(): void {
    this.closed = true;
    clearInterval(this.heartbeat);
  }
}
