import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CustomRoute } from '@slack/bolt';
import {
  CONNECT_PATH,
  type ConnectFlowService,
  type FlowStep,
  OAUTH_CALLBACK_PATH,
  SLACK_SIGN_IN_CALLBACK_PATH,
} from '../connections/connect-flow.js';
import type { Logger } from '../logger.js';
import { PAGE_HEADERS, renderPage, sendPage } from './pages.js';

type RouteRequest = IncomingMessage & { params?: Record<string, string | string[]> };

/** The browser side of connecting an account (DESIGN.md §7 routes). */
export function connectRoutes(
  flows: ConnectFlowService,
  options: { publicBaseUrl: string; logger: Logger },
): CustomRoute[] {
  const secure = options.publicBaseUrl.startsWith('https:');
  // `__Host-` pins the cookie to this origin over https; plain http (the sandbox) cannot use it.
  const cookieName = secure ? '__Host-deputy_flow' : 'deputy_flow';
  const cookie = (value: string, maxAge: number) =>
    `${cookieName}=${value}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${maxAge}${secure ? '; Secure' : ''}`;

  const answer = (res: ServerResponse, step: FlowStep) => {
    if (step.kind === 'redirect') {
      res.writeHead(303, {
        ...PAGE_HEADERS,
        location: step.location,
        ...(step.setFlowCookie ? { 'set-cookie': cookie(step.setFlowCookie, 600) } : {}),
      });
      res.end();
      return;
    }
    sendPage(
      res,
      step.status,
      renderPage(step.page, step.connectorName, step.detail),
      step.clearFlowCookie ? { 'set-cookie': cookie('', 0) } : {},
    );
  };

  const guarded =
    (handler: (req: RouteRequest) => Promise<FlowStep>) => (req: RouteRequest, res: ServerResponse) => {
      handler(req)
        .then((step) => answer(res, step))
        .catch((error: unknown) => {
          options.logger.error('connect route failed', {
            error: String(error),
            path: req.url?.split('?')[0],
          });
          if (!res.headersSent) sendPage(res, 500, renderPage('failed'));
        });
    };

  const query = (req: IncomingMessage) => new URL(req.url ?? '/', 'http://localhost').searchParams;
  const flowCookie = (req: IncomingMessage) =>
    (req.headers.cookie ?? '')
      .split(';')
      .map((part) => part.trim().split('='))
      .find(([name]) => name === cookieName)?.[1];

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
      handler: guarded((req) => flows.open(String(req.params?.handle ?? ''))),
    },
    {
      path: SLACK_SIGN_IN_CALLBACK_PATH,
      method: 'GET',
      handler: guarded((req) => flows.identityCallback(query(req), flowCookie(req))),
    },
    {
      path: OAUTH_CALLBACK_PATH,
      method: 'GET',
      handler: guarded((req) => flows.providerCallback(query(req), flowCookie(req))),
    },
  ];
}
