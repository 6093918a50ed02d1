"""Jobs: a notebook or code run on a compute target, with a persisted state machine."""
