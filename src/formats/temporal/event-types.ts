/** Temporal Cloud's operation names are an open list: its events' types are `temporal.<operation>`. */
export const TEMPORAL_NAMESPACE = 'temporal.';
