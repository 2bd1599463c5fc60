import { z } from 'zod';
import { errorMessage } from '../../core/errors.js';
import { vpcFlowLayout } from './log-format.js';

/**
 * A source's `vpcFlowFormat`: the format string its VPC or Transit Gateway flow
 * log was created with, checked when the config loads so that a typo fails
 * there, naming the key, and not on every record.
 */
export const vpcFlowFormatOption = z
  .string()
  .superRefine((format, ctx) => {
    try {
      vpcFlowLayout(format);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: errorMessage(err) });
    }
  })
  .optional();
