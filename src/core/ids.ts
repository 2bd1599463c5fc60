import { v7 as uuidv7 } from 'uuid';

/** Time-ordered ids keep store inserts append-mostly and make ids sort by arrival. */
export function newEventId(): string {
  return uuidv7();
}
