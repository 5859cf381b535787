import type { Clock } from './clock.js';

/**
 * Numbers the deployment alarms on. In production they are CloudWatch Embedded Metric Format lines
 * on stdout: the log driver ships them and CloudWatch turns them into metrics, so the app needs no
 * metrics API, credentials or permissions. The alarms in infra/ read these names.
 */
export interface Metrics {
  /** How long after the Managed Agents API processed an event the relay finished writing it to Slack. */
  relayLag(ms: number): void;
}

export const METRIC_NAMESPACE = 'Deputy';
export const METRIC_SERVICE = 'deputy';
export const RELAY_LAG_METRIC = 'RelayLagMs';

export const noMetrics: Metrics = { relayLag: () => {} };

export function embeddedMetricFormat(options: { clock: Clock; write: (line: string) => void }): Metrics {
  const { clock, write } = options;
  const emit = (name: string, value: number, unit: 'Milliseconds' | 'Count') =>
    write(
      `${JSON.stringify({
        _aws: {
          Timestamp: clock.now(),
          CloudWatchMetrics: [
            { Namespace: METRIC_NAMESPACE, Dimensions: [['Service']], Metrics: [{ Name: name, Unit: unit }] },
          ],
        },
        Service: METRIC_SERVICE,
        [name]: value,
      })}\n`,
    );
  return { relayLag: (ms) => emit(RELAY_LAG_METRIC, Math.max(0, Math.round(ms)), 'Milliseconds') };
}
