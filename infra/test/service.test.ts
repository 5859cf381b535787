import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { CONTAINER_PORT, HEALTH_CHECK_PATH } from '../lib/contract';
import {
  asArray,
  type CfnResource,
  container,
  isRecord,
  nameValueMap,
  onlyResource,
  props,
  referencedId,
  resourcesOfType,
  synthesize,
} from './support';

const { built, service, serviceJson } = synthesize();

function listener(port: number) {
  const found = resourcesOfType(serviceJson, 'AWS::ElasticLoadBalancingV2::Listener').filter(
    ([, r]) => props(r).Port === port,
  );
  assert.equal(found.length, 1, `one listener on ${port}`);
  const [, resource] = found[0] as [string, CfnResource];
  return props(resource);
}

function targetGroupAttribute(key: string): string | undefined {
  const [, tg] = onlyResource(serviceJson, 'AWS::ElasticLoadBalancingV2::TargetGroup');
  const attribute = asArray(props(tg).TargetGroupAttributes).find((a) => isRecord(a) && a.Key === key);
  return isRecord(attribute) ? String(attribute.Value) : undefined;
}

describe('HTTPS load balancer', () => {
  test('listener 443 is HTTPS with the certificate from the CertificateArn parameter and forwards to the app', () => {
    const https = listener(443);
    assert.equal(https.Protocol, 'HTTPS');
    assert.deepEqual(https.Certificates, [{ CertificateArn: { Ref: 'CertificateArn' } }]);
    assert.match(String(https.SslPolicy), /^ELBSecurityPolicy-TLS13-/);
    const [tgId] = onlyResource(serviceJson, 'AWS::ElasticLoadBalancingV2::TargetGroup');
    assert.deepEqual(https.DefaultActions, [{ Type: 'forward', TargetGroupArn: { Ref: tgId } }]);
    assert.equal(serviceJson.Parameters?.CertificateArn?.Type, 'String');
  });

  test('listener 80 only redirects to HTTPS 443 (permanent)', () => {
    const http = listener(80);
    assert.equal(http.Protocol, 'HTTP');
    assert.deepEqual(http.DefaultActions, [
      { Type: 'redirect', RedirectConfig: { Protocol: 'HTTPS', Port: '443', StatusCode: 'HTTP_301' } },
    ]);
  });

  test('internet-facing, in the public subnets; drops invalid headers', () => {
    const [, alb] = onlyResource(serviceJson, 'AWS::ElasticLoadBalancingV2::LoadBalancer');
    assert.equal(props(alb).Scheme, 'internet-facing');
    const subnets = asArray(props(alb).Subnets).map(referencedId);
    assert.equal(subnets.length, 2);
    for (const id of subnets) assert.match(String(id), /public/i);
    assert.ok(
      asArray(props(alb).LoadBalancerAttributes).some(
        (a) =>
          isRecord(a) && a.Key === 'routing.http.drop_invalid_header_fields.enabled' && a.Value === 'true',
      ),
    );
  });

  test(`target group checks ${HEALTH_CHECK_PATH} on port ${CONTAINER_PORT} and expects 200`, () => {
    service.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      Port: CONTAINER_PORT,
      Protocol: 'HTTP',
      TargetType: 'ip',
      HealthCheckPath: HEALTH_CHECK_PATH,
      Matcher: { HttpCode: '200' },
    });
  });
});

describe('Fargate service', () => {
  test('container listens on 3000 with PORT=3000', () => {
    const c = container(serviceJson);
    assert.deepEqual(c.PortMappings, [{ ContainerPort: CONTAINER_PORT, Protocol: 'tcp' }]);
    assert.equal(nameValueMap(c.Environment, 'Value').get('PORT'), String(CONTAINER_PORT));
  });

  test('PUBLIC_BASE_URL is https://<DomainName parameter>', () => {
    const env = nameValueMap(container(serviceJson).Environment, 'Value');
    assert.deepEqual(env.get('PUBLIC_BASE_URL'), { 'Fn::Join': ['', ['https://', { Ref: 'DomainName' }]] });
    assert.equal(serviceJson.Parameters?.DomainName?.Type, 'String');
  });

  test('the AuditWebhookActions parameter (default empty, comma-separated actions) is DEPUTY_AUDIT_WEBHOOK_ACTIONS', () => {
    const c = container(serviceJson);
    assert.deepEqual(nameValueMap(c.Environment, 'Value').get('DEPUTY_AUDIT_WEBHOOK_ACTIONS'), {
      Ref: 'AuditWebhookActions',
    });
    assert.equal(nameValueMap(c.Secrets, 'ValueFrom').has('DEPUTY_AUDIT_WEBHOOK_ACTIONS'), false);
    const parameter = serviceJson.Parameters?.AuditWebhookActions;
    assert.equal(parameter?.Type, 'String');
    assert.equal(parameter?.Default, '', 'optional: existing deployments need not pass it');
    const pattern = new RegExp(String(parameter?.AllowedPattern));
    for (const ok of [
      '',
      'session.created',
      'session.created,approval.*',
      'session.*, approval.decided',
      'a_b.c',
    ])
      assert.ok(pattern.test(ok), `${JSON.stringify(ok)} allowed`);
    for (const bad of ['session.created;rm', '$(id)', 'a"b', 'session/created', 'a\nb'])
      assert.equal(pattern.test(bad), false, `${JSON.stringify(bad)} refused`);
  });

  test("AWS_REGION is the stack's region, so the app uses DynamoDB (not its embedded engine); no endpoint override", () => {
    const env = nameValueMap(container(serviceJson).Environment, 'Value');
    assert.deepEqual(env.get('AWS_REGION'), { Ref: 'AWS::Region' });
    assert.equal(env.has('DYNAMODB_ENDPOINT'), false);
    assert.equal(env.get('DEPUTY_ALLOW_PRIVATE_NETWORK'), 'false');
  });

  test('image comes from the ECR repository with the ImageTag parameter (no Docker asset built at synth)', () => {
    const image = JSON.stringify(container(serviceJson).Image);
    assert.match(image, /\.dkr\.ecr\./);
    assert.ok(image.includes('{"Ref":"ImageTag"}'), image);
    assert.equal(serviceJson.Parameters?.ImageTag?.Default, undefined, 'ImageTag must be given at deploy');
    const assembly = built.app.synth();
    for (const stack of assembly.stacks) {
      const manifest = JSON.parse(
        readFileSync(join(assembly.directory, `${stack.stackName}.assets.json`), 'utf8'),
      ) as { files: Record<string, { source: { path: string } }>; dockerImages: Record<string, unknown> };
      assert.deepEqual(manifest.dockerImages, {}, `${stack.stackName} builds no image`);
      const files = Object.values(manifest.files).map((f) => f.source.path);
      assert.deepEqual(files, [stack.templateFile], `${stack.stackName} uploads nothing but its template`);
    }
  });

  test('at least 2 tasks; autoscaling between 2 and 10', () => {
    const [, svc] = onlyResource(serviceJson, 'AWS::ECS::Service');
    assert.ok(Number(props(svc).DesiredCount) >= 2);
    assert.equal(props(svc).LaunchType, 'FARGATE');
    const [, target] = onlyResource(serviceJson, 'AWS::ApplicationAutoScaling::ScalableTarget');
    assert.ok(Number(props(target).MinCapacity) >= 2, 'min capacity');
    assert.equal(props(target).MaxCapacity, 10);
    assert.equal(props(target).ScalableDimension, 'ecs:service:DesiredCount');
  });

  test('scales on CPU (target 60%) and on ALB requests per target', () => {
    service.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({
        PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' },
        TargetValue: 60,
      }),
    });
    service.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({
        PredefinedMetricSpecification: {
          PredefinedMetricType: 'ALBRequestCountPerTarget',
          ResourceLabel: Match.anyValue(),
        },
      }),
    });
  });

  test('graceful shutdown: stopTimeout 60–120 s, and the deregistration delay is shorter', () => {
    const stopTimeout = Number(container(serviceJson).StopTimeout);
    assert.ok(stopTimeout >= 60 && stopTimeout <= 120, `stopTimeout ${stopTimeout}`);
    const delay = Number(targetGroupAttribute('deregistration_delay.timeout_seconds'));
    assert.ok(
      delay > 0 && delay < stopTimeout,
      `deregistration delay ${delay} < stop timeout ${stopTimeout}`,
    );
  });

  test('deployment circuit breaker rolls back; never fewer than the desired tasks during a deploy', () => {
    const [, svc] = onlyResource(serviceJson, 'AWS::ECS::Service');
    const deployment = props(svc).DeploymentConfiguration as Record<string, unknown>;
    assert.deepEqual(deployment.DeploymentCircuitBreaker, { Enable: true, Rollback: true });
    assert.equal(deployment.MinimumHealthyPercent, 100);
  });

  test('container health check calls /healthz with node fetch', () => {
    const check = container(serviceJson).HealthCheck as Record<string, unknown>;
    const command = asArray(check.Command).join(' ');
    assert.match(command, /^CMD node -e /);
    assert.ok(command.includes(`http://127.0.0.1:${CONTAINER_PORT}${HEALTH_CHECK_PATH}`));
  });

  test('logs: awslogs driver to a log group kept 30 days', () => {
    const logging = container(serviceJson).LogConfiguration as Record<string, unknown>;
    assert.equal(logging.LogDriver, 'awslogs');
    const options = logging.Options as Record<string, unknown>;
    const groupId = referencedId(options['awslogs-group']);
    assert.ok(groupId);
    const group = serviceJson.Resources[groupId];
    assert.equal(group?.Type, 'AWS::Logs::LogGroup');
    assert.equal(props(group).RetentionInDays, 30);
  });
});

describe('network', () => {
  test('a VPC over 2 AZs from Fn::GetAZs (no lookups), with NAT for the private subnets', () => {
    const subnets = resourcesOfType(serviceJson, 'AWS::EC2::Subnet');
    assert.equal(subnets.length, 4);
    const azs = new Set(subnets.map(([, s]) => JSON.stringify(props(s).AvailabilityZone)));
    assert.equal(azs.size, 2);
    for (const az of azs) assert.ok(az.includes('Fn::GetAZs'), az);
    assert.equal(resourcesOfType(serviceJson, 'AWS::EC2::NatGateway').length, 2);
  });

  test('tasks run in the private subnets without public IPs; only the load balancer reaches port 3000', () => {
    const [, svc] = onlyResource(serviceJson, 'AWS::ECS::Service');
    const network = (props(svc).NetworkConfiguration as Record<string, Record<string, unknown>>)
      .AwsvpcConfiguration as Record<string, unknown>;
    assert.equal(network.AssignPublicIp, 'DISABLED');
    for (const id of asArray(network.Subnets).map(referencedId)) assert.match(String(id), /app/i);
    const taskGroups = asArray(network.SecurityGroups).map(referencedId);
    const [albId, alb] = onlyResource(serviceJson, 'AWS::ElasticLoadBalancingV2::LoadBalancer');
    const albGroups = asArray(props(alb).SecurityGroups).map(referencedId);
    assert.ok(albId);
    for (const id of taskGroups) {
      const group = serviceJson.Resources[String(id)];
      assert.deepEqual(asArray(props(group ?? { Type: '' }).SecurityGroupIngress), [], 'no inline ingress');
    }
    const ingress = resourcesOfType(serviceJson, 'AWS::EC2::SecurityGroupIngress').filter(([, r]) =>
      taskGroups.includes(referencedId(props(r).GroupId)),
    );
    assert.equal(ingress.length, 1);
    const rule = props((ingress[0] as [string, CfnResource])[1]);
    assert.equal(rule.FromPort, CONTAINER_PORT);
    assert.equal(rule.ToPort, CONTAINER_PORT);
    assert.ok(albGroups.includes(referencedId(rule.SourceSecurityGroupId)));
  });

  test('a DynamoDB gateway endpoint', () => {
    service.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcEndpointType: 'Gateway',
      ServiceName: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith(['.dynamodb'])] }),
    });
  });
});

describe('synthesis', () => {
  test('no warnings or errors from the constructs in either stack', () => {
    for (const stack of [built.data, built.service]) {
      Annotations.fromStack(stack).hasNoWarning('*', Match.anyValue());
      Annotations.fromStack(stack).hasNoError('*', Match.anyValue());
    }
  });
});
