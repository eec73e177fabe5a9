-- Commands that expired after they were sent, with a cancel the agent has not heard: the
-- control plane sends those cancels when the agent reconnects. Few rows: each leaves once the
-- agent reports the command.
create index commands_unheard_cancels on public.commands (agent_id, created_at)
  where status = 'expired' and dispatched_at is not null and cancel_requested_at is not null;
