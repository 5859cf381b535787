import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { RELAY_LAG_METRIC, TABLE_INDEXES, tableNames } from '../lib/contract';
import {
  asArray,
  type CfnResource,
  isRecord,
  onlyResource,
  props,
  resourcesOfType,
  synthesize,
} from './support';

const { serviceJson } = synthesize();
const alarms = resourcesOfType(serviceJson, 'AWS::CloudWatch::Alarm').map(([, r]) => props(r));
const [topicId] = onlyResource(serviceJson, 'AWS::SNS::Topic');

interface MetricStat {
  id: string;
  namespace: string;
  name: string;
  stat: string;
  dimensions: Record<string, unknown>;
}

/** The metrics a math-expression alarm reads. */
function metricsOf(alarm: Record<string, unknown>): MetricStat[] {
  return asArray(alarm.Metrics)
    .filter(isRecord)
    .filter((m) => isRecord(m.MetricStat))
    .map((m) => {
      const stat = m.MetricStat as Record<string, unknown>;
      const metric = stat.Metric as Record<string, unknown>;
      return {
        id: String(m.Id),
        namespace: String(metric.Namespace),
        name: String(metric.MetricName),
        stat: String(stat.Stat),
        dimensions: Object.fromEntries(
          asArray(metric.Dimensions)
            .filter(isRecord)
            .map((d) => [String(d.Name), d.Value]),
        ),
      };
    });
}

function expressionOf(alarm: Record<string, unknown>): string {
  const expression = asArray(alarm.Metrics)
    .filter(isRecord)
    .find((m) => m.ReturnData === true);
  return String(expression?.Expression ?? '');
}

function alarmsReading(namespace: string, metricName: string) {
  return alarms.filter(
    (a) =>
      (a.Namespace === namespace && a.MetricName === metricName) ||
      metricsOf(a).some((m) => m.namespace === namespace && m.name === metricName),
  );
}

describe('alarms', () => {
  test('5xx rate: (ELB 5xx + target 5xx) / requests as a metric-math percentage', () => {
    const [alarm, ...more] = alarmsReading('AWS/ApplicationELB', 'HTTPCode_Target_5XX_Count');
    assert.ok(alarm);
    assert.equal(more.length, 0);
    const metrics = metricsOf(alarm);
    const ids = (name: string) => metrics.filter((m) => m.name === name).map((m) => m.id);
    const [elb] = ids('HTTPCode_ELB_5XX_Count');
    const [target] = ids('HTTPCode_Target_5XX_Count');
    const [requests] = ids('RequestCount');
    assert.ok(elb && target && requests, 'reads ELB 5xx, target 5xx and request count');
    for (const m of metrics) assert.equal(m.stat, 'Sum');
    const expression = expressionOf(alarm);
    assert.ok(
      expression.includes(`100 * (FILL(${elb}, 0) + FILL(${target}, 0)) / (FILL(${requests}, 0)`),
      expression,
    );
    assert.equal(alarm.ComparisonOperator, 'GreaterThanThreshold');
    assert.equal(alarm.Threshold, 5);
  });

  test('p99 latency: TargetResponseTime, extended statistic p99, above 2 s', () => {
    const [alarm, ...more] = alarmsReading('AWS/ApplicationELB', 'TargetResponseTime');
    assert.ok(alarm);
    assert.equal(more.length, 0);
    assert.equal(alarm.ExtendedStatistic, 'p99');
    assert.equal(alarm.Threshold, 2);
    assert.equal(alarm.ComparisonOperator, 'GreaterThanThreshold');
  });

  for (const [table, indexes] of [
    [tableNames('deputy-').main, TABLE_INDEXES.main],
    [tableNames('deputy-').audit, TABLE_INDEXES.audit],
  ] as const) {
    test(`DynamoDB throttles on ${table}: read and write throttle events of the table and its indexes`, () => {
      const mine = alarms.filter((a) => metricsOf(a).some((m) => m.dimensions.TableName === table));
      assert.equal(mine.length, 1);
      const alarm = mine[0] as Record<string, unknown>;
      const metrics = metricsOf(alarm);
      for (const index of [undefined, ...indexes]) {
        for (const name of ['ReadThrottleEvents', 'WriteThrottleEvents']) {
          const found = metrics.find(
            (m) =>
              m.namespace === 'AWS/DynamoDB' &&
              m.name === name &&
              m.dimensions.GlobalSecondaryIndexName === index &&
              m.stat === 'Sum',
          );
          assert.ok(found, `${name} ${index ?? '(table)'}`);
          assert.ok(expressionOf(alarm).includes(`FILL(${found.id}, 0)`), `${found.id} is summed`);
        }
      }
      assert.equal(alarm.ComparisonOperator, 'GreaterThanOrEqualToThreshold');
      assert.equal(alarm.Threshold, 1);
    });
  }

  test('relay lag: p99 of Deputy/RelayLagMs (Service=deputy) above 30 000 ms', () => {
    const [alarm, ...more] = alarmsReading(RELAY_LAG_METRIC.namespace, RELAY_LAG_METRIC.metricName);
    assert.ok(alarm);
    assert.equal(more.length, 0);
    assert.equal(RELAY_LAG_METRIC.namespace, 'Deputy');
    assert.equal(RELAY_LAG_METRIC.metricName, 'RelayLagMs');
    assert.deepEqual(alarm.Dimensions, [{ Name: 'Service', Value: 'deputy' }]);
    assert.equal(alarm.ExtendedStatistic, 'p99');
    assert.equal(alarm.Threshold, 30_000);
    assert.equal(alarm.ComparisonOperator, 'GreaterThanThreshold');
    // The metric is published in milliseconds; no unit filter, so it cannot silently match nothing.
    assert.equal(alarm.Unit, undefined);
  });

  test('the relay-lag alarm watches the names the app writes (src/metrics.ts)', async () => {
    const moduleUrl = pathToFileURL(join(__dirname, '..', '..', 'src', 'metrics.ts')).href;
    const app = (await import(moduleUrl)) as {
      METRIC_NAMESPACE: string;
      METRIC_SERVICE: string;
      RELAY_LAG_METRIC: string;
    };
    assert.equal(app.METRIC_NAMESPACE, RELAY_LAG_METRIC.namespace);
    assert.equal(app.RELAY_LAG_METRIC, RELAY_LAG_METRIC.metricName);
    assert.equal(app.METRIC_SERVICE, RELAY_LAG_METRIC.dimensions.Service);
  });

  test('every alarm notifies the SNS topic (alarm and OK); no data is not an alarm', () => {
    assert.equal(alarms.length, 5);
    for (const alarm of alarms) {
      assert.deepEqual(alarm.AlarmActions, [{ Ref: topicId }]);
      assert.deepEqual(alarm.OKActions, [{ Ref: topicId }]);
      assert.equal(alarm.TreatMissingData, 'notBreaching');
    }
  });

  test('the e-mail subscription exists only when AlarmEmail is given', () => {
    const [, subscription] = onlyResource(serviceJson, 'AWS::SNS::Subscription') as [string, CfnResource];
    assert.equal(subscription.Condition, 'HasAlarmEmail');
    assert.deepEqual(props(subscription).Endpoint, { Ref: 'AlarmEmail' });
    assert.equal(serviceJson.Parameters?.AlarmEmail?.Default, '');
  });
});
