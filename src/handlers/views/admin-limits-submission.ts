import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import { z } from 'zod';
import {
  LIMITED_ACTIONS,
  limitBlockId,
  limitsModal,
  limitsSavedMessage,
  liveBlockId,
} from '../../blocks/limits.js';
import { principalFromInteraction } from '../../identity/principal.js';
import type { RateLimits } from '../../limits/rate-limiter.js';
import type { Surfaces } from '../index.js';
import { privateMetadata, ViewState } from '../view-state.js';

/** The version the admin edited, as the modal carries it (0: the defaults). */
const metadataSchema = z.object({ version: z.number().int().nonnegative() });

/** `/agent limits` → Save: an admin's new limits, written only over the version they edited. */
export function adminLimitsSubmission({ limits, outbox }: Pick<Surfaces, 'limits' | 'outbox'>) {
  return async ({
    ack,
    body,
    view,
    context,
  }: SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs) => {
    const admin = principalFromInteraction(body);
    const state = new ViewState(view.state.values);
    const first = limitBlockId('run', 'perMinute');
    const metadata = privateMetadata(metadataSchema, view.private_metadata);
    const entered = Object.fromEntries(
      LIMITED_ACTIONS.map((action) => [
        action,
        {
          perMinute: Number(state.text(limitBlockId(action, 'perMinute'))),
          perHour: Number(state.text(limitBlockId(action, 'perHour'))),
        },
      ]),
    ) as RateLimits;
    const live = {
      perPerson: Number(state.text(liveBlockId('perPerson'))),
      perAgent: Number(state.text(liveBlockId('perAgent'))),
    };
    if (!metadata)
      return ack({
        response_action: 'errors',
        errors: { [first]: 'This form is out of date; open /agent limits again.' },
      });
    const outcome = await limits.setLimits(
      admin,
      { limits: entered, live },
      metadata.version === 0 ? undefined : metadata.version,
      String(context.correlationId),
    );
    switch (outcome.kind) {
      case 'not_admin':
        return ack({
          response_action: 'errors',
          errors: { [first]: 'Only Deputy admins can change the limits. Nothing was changed.' },
        });
      case 'invalid':
        return ack({
          response_action: 'errors',
          errors: { [first]: 'Each limit must be a whole number from 1 to 100,000. Nothing was changed.' },
        });
      case 'conflict':
        return ack({
          response_action: 'update',
          view: limitsModal(
            outcome.current,
            'Another admin changed the limits while you were editing; these are theirs. Change them again if you need to.',
          ),
        });
      case 'saved':
        await ack();
        await outbox.toPerson(admin.userId, limitsSavedMessage(outcome.current)).catch(() => undefined);
        return;
    }
  };
}
