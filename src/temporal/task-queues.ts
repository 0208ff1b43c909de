/** Task queues, named once. Every workflow and activity of the issuer runs on the issuance queue. */
export const TASK_QUEUES = {
  issuer: 'issuer',
} as const;
