import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CustomRoute } from '@slack/bolt';
import { AUDIT_UNAVAILABLE_TEXT, isAuditUnavailable } from '../audit/audit-log.js';
import {
  CONNECT_PATH,
  type ConnectFlowService,
  type FlowCookies,
  type FlowStep,
  OAUTH_CALLBACK_PATH,
  SLACK_SIGN_IN_CALLBACK_PATH,
} from '../connections/connect-flow.js';
import { requestTarget } from '../http.js';
import type { Logger } from '../logger.js';
import type { Work } from '../work.js';
import { PAGE_HEADERS, renderPage, sendPage } from './pages.js';

type RouteRequest = IncomingMessage & { params?: Record<string, string | string[]> };

/** The browser side of connecting an account (docs/architecture.md#fixed-contracts). */
export function connectRoutes(
  flows: ConnectFlowService,
  options: {
    publicBaseUrl: string;
    logger: Logger;
    /** Counts each request's handling as the runtime's work (a stop drains it; tests wait on it). */
    work: Pick<Work, 'track'>;
  },
): CustomRoute[] {
  const secure = options.publicBaseUrl.startsWith('https:');
  // One cookie per flow, so two connects in one browser do not overwrite each other. `__Host-` pins
  // it to this origin over https; plain http (the sandbox) cannot use it.
  const cookieName = (flowId: string) => `${secure ? '__Host-' : ''}deputy_flow_${flowId}`;
  const cookie = (flowId: string, value: string, maxAge: number) =>
    `${cookieName(flowId)}=${value}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${maxAge}${secure ? '; Secure' : ''}`;

  const answer = (res: ServerResponse, step: FlowStep) => {
    if (step.kind === 'redirect') {
      res.writeHead(303, {
        ...PAGE_HEADERS,
        location: step.location,
        ...(step.setFlowCookie
          ? { 'set-cookie': cookie(step.setFlowCookie.flowId, step.setFlowCookie.key, 600) }
          : {}),
      });
      res.end();
      return;
    }
    sendPage(
      res,
      step.status,
      renderPage(step.page, step.connectorName, step.detail, step.confirm),
      step.setFlowCookie
        ? { 'set-cookie': cookie(step.setFlowCookie.flowId, step.setFlowCookie.key, 600) }
        : step.clearFlowCookie
          ? { 'set-cookie': cookie(step.clearFlowCookie, '', 0) }
          : {},
    );
  };

  const guarded =
    (route: string, handler: (req: RouteRequest) => Promise<FlowStep>) =>
    (req: RouteRequest, res: ServerResponse) => {
      options.work
        .track(() => handler(req))
        .then((step) => answer(res, step))
        .catch((error: unknown) => {
          // The route's template, not its path: a path may hold a connect link that still works.
          options.logger.error('connect route failed', { error: String(error), route });
          // Refused for want of its audit record (nothing was done): the page says so.
          const audit = isAuditUnavailable(error);
          if (!res.headersSent)
            sendPage(
              res,
              audit ? 503 : 500,
              renderPage('failed', undefined, audit ? AUDIT_UNAVAILABLE_TEXT : undefined),
            );
        });
    };

  const query = (req: IncomingMessage) => requestTarget(req).query;
  const flowCookies =
    (req: IncomingMessage): FlowCookies =>
    (flowId) =>
      (req.headers.cookie ?? '')
        .split(';')
        .map((part) => part.trim().split('='))
        .find(([name]) => name === cookieName(flowId))?.[1] || undefined;

  return [
    {
      path: `${CONNECT_PATH}/done/:outcome`,
      method: 'GET',
      handler: (req, res) => {
        const ok = req.params?.outcome === 'connected';
        sendPage(res, ok ? 200 : 404, renderPage(ok ? 'connected' : 'bad_request'));
      },
    },
    {
      path: `${CONNECT_PATH}/:handle`,
      method: 'GET',
      handler: guarded(`${CONNECT_PATH}/:handle`, (req) => flows.open(String(req.params?.handle ?? ''))),
    },
    {
      path: SLACK_SIGN_IN_CALLBACK_PATH,
      method: 'GET',
      handler: guarded(SLACK_SIGN_IN_CALLBACK_PATH, (req) =>
        flows.identityCallback(query(req), flowCookies(req)),
      ),
    },
    {
      path: OAUTH_CALLBACK_PATH,
      method: 'GET',
      handler: guarded(OAUTH_CALLBACK_PATH, (req) => flows.providerCallback(query(req), flowCookies(req))),
    },
  ];
}
