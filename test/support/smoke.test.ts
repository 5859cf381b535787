import { expect, test } from '@jest/globals';

test('DynamoDB Local endpoint is published to workers', () => {
  expect(process.env.DEPUTY_TEST_DYNAMODB_LOCAL).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
});
